package client

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// A completion callback that publishes again through its own Publisher,
// whose window is full while the callback runs, must not freeze the
// Client: the window is released before callbacks run, and callbacks run
// off the reader goroutine, so Ping (and the nested Publish) still get
// their replies. This froze every request of the Client before the fix.
func TestPublisherCallbackPublishesAgain(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{Window: 1})
	nested := make(chan PublishResult, 1)
	nestedErr := make(chan error, 1)
	started := make(chan struct{})
	first := func(r PublishResult) {
		close(started)
		require.NoError(t, r.Err)
		nestedErr <- p.Publish(testCtx(t), []byte("second"), func(r PublishResult) { nested <- r })
	}
	require.NoError(t, p.Publish(testCtx(t), []byte("first"), first))

	select {
	case <-started:
	case <-testCtx(t).Done():
		t.Fatal("the first publish was never resolved")
	}
	pingCtx, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(pingCtx), "the Client froze: its reader is stuck in a callback")
	require.NoError(t, <-nestedErr)
	select {
	case r := <-nested:
		require.NoError(t, r.Err)
		require.Equal(t, uint64(2), r.Seq)
	case <-testCtx(t).Done():
		t.Fatal("the nested publish was never resolved")
	}
	require.NoError(t, p.Close(testCtx(t)))
	require.Len(t, s.Messages("q"), 2)
}

// Failures of messages published without a callback reach the Client's
// PublishErrorHandler and are reported by Flush (once) and by Close.
func TestPublisherReportsFailuresWithoutCallback(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(_ string, m frame.Message) frame.Code {
		if bytes.HasPrefix(m.Payload, []byte("bad")) {
			return frame.CodeDestinationFull
		}
		return frame.CodeOK
	}})
	var mu sync.Mutex
	var handled []error
	c := dial(t, s, func(o *Options) {
		o.PublishErrorHandler = func(err error) {
			mu.Lock()
			handled = append(handled, err)
			mu.Unlock()
		}
	})
	p := mustPublisher(t, c, "q", PublisherOptions{})
	for _, m := range []string{"ok-1", "bad-1", "ok-2", "bad-2"} {
		require.NoError(t, p.Publish(testCtx(t), []byte(m), nil))
	}
	err := p.Flush(testCtx(t))
	require.ErrorIs(t, err, ErrPublishFailed)
	require.True(t, IsCode(err, CodeDestinationFull), "the first failure's code: %v", err)
	var pe *PublishError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 2, pe.Failed)
	mu.Lock()
	require.Len(t, handled, 2)
	mu.Unlock()
	require.NoError(t, p.Flush(testCtx(t)), "each failure is reported once")

	require.NoError(t, p.Publish(testCtx(t), []byte("bad-3"), nil))
	err = p.Close(testCtx(t))
	require.ErrorIs(t, err, ErrPublishFailed)
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 1, pe.Failed)
	require.Len(t, s.Messages("q"), 2)
}

func TestPublishAsyncFuture(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(_ string, m frame.Message) frame.Code {
		if string(m.Payload) == "bad" {
			return frame.CodeDestinationFull
		}
		return frame.CodeOK
	}})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{})
	good, err := p.PublishAsync(testCtx(t), []byte("good"))
	require.NoError(t, err)
	bad, err := p.PublishAsync(testCtx(t), []byte("bad"))
	require.NoError(t, err)

	r, err := good.Wait(testCtx(t))
	require.NoError(t, err)
	require.Equal(t, uint64(1), r.Seq)
	select {
	case r := <-good.Ok():
		require.Equal(t, uint64(1), r.Seq)
	case <-testCtx(t).Done():
		t.Fatal("Ok never delivered")
	}
	select {
	case err := <-bad.Err():
		require.True(t, IsCode(err, CodeDestinationFull), "%v", err)
	case <-bad.Ok():
		t.Fatal("a refused message delivered on Ok")
	case <-testCtx(t).Done():
		t.Fatal("Err never delivered")
	}
	require.Error(t, bad.Result().Err)
	require.NoError(t, p.Close(testCtx(t)), "a failure delivered on a future is not reported again")
}
