package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// TestDrain: a Consume loop that publishes what it consumes is drained:
// its batch is handled and acked, what it published is stored, Consume
// returns nil, and the Client ends closed.
func TestDrain(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	publishPayloads(t, c, "in", 5)
	out := mustPublisher(t, c, "out", PublisherOptions{})
	inHandler := make(chan struct{})
	release := make(chan struct{})
	consumed := make(chan error, 1)
	go func() {
		consumed <- c.Consume(testCtx(t), "in", "g", ConsumeOptions{Batch: 5, Wait: time.Minute},
			func(ctx context.Context, ds []Delivery) error {
				close(inHandler)
				<-release
				for _, d := range ds {
					if err := out.Publish(ctx, d.Payload, nil); err != nil {
						return err
					}
				}
				return nil
			})
	}()
	<-inHandler
	drained := make(chan error, 1)
	go func() { drained <- c.Drain(testCtx(t)) }()
	close(release)
	require.NoError(t, <-drained)
	require.NoError(t, <-consumed)
	require.Len(t, s.Messages("out"), 5)
	require.Equal(t, []string{"ACK [1 2 3 4 5]"}, settleFrames(t, s))
	_, err := c.Publish(testCtx(t), "q", []byte("x"))
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, c.Consume(testCtx(t), "in", "g", ConsumeOptions{}, nil), "a Consume after Drain returns at once")
}

// TestDrainStopsLongPoll: a Consume loop waiting in a long poll stops at
// once.
func TestDrainStopsLongPoll(t *testing.T) {
	h := newHolder(frame.TypeFetch)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, nil)
	consumed := make(chan error, 1)
	go func() {
		consumed <- c.Consume(testCtx(t), "in", "g", ConsumeOptions{Wait: time.Minute},
			func(context.Context, []Delivery) error { return nil })
	}()
	h.next(t)
	require.NoError(t, c.Drain(testCtx(t)))
	require.NoError(t, <-consumed)
}

// TestClientFlush: Client.Flush waits for every Publisher and reports the
// failures nobody had a callback for.
func TestClientFlush(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(dest string, _ frame.Message) frame.Code {
		if dest == "full" {
			return frame.CodeDestinationFull
		}
		return frame.CodeOK
	}})
	c := dial(t, s, nil)
	a := mustPublisher(t, c, "a", PublisherOptions{})
	b := mustPublisher(t, c, "full", PublisherOptions{})
	for range 100 {
		require.NoError(t, a.Publish(testCtx(t), []byte("x"), nil))
	}
	require.NoError(t, b.Publish(testCtx(t), []byte("y"), nil))
	err := c.Flush(testCtx(t))
	require.ErrorIs(t, err, ErrPublishFailed)
	require.True(t, IsCode(err, CodeDestinationFull))
	require.Len(t, s.Messages("a"), 100)
	require.Zero(t, c.Stats().InFlight)
	require.NoError(t, c.Flush(testCtx(t)), "each failure is reported once")
}

// TestCloseContext: CloseContext waits for messages on their way while
// its ctx allows; past its deadline it closes and the rest fail.
func TestCloseContext(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{})
	res := make(chan PublishResult, 2)
	require.NoError(t, p.Publish(testCtx(t), []byte("a"), func(r PublishResult) { res <- r }))
	h.next(t).serve()
	require.NoError(t, (<-res).Err)

	require.NoError(t, p.Publish(testCtx(t), []byte("b"), func(r PublishResult) { res <- r }))
	h.next(t) // held: never answered
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	err := c.CloseContext(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, (<-res).Err, ErrClosed)
}

// TestCallbackBackpressure: while a Window of results waits for a stuck
// callback, Publish waits (here: its ctx ends first) instead of queueing
// more; a callback that publishes is not held by that.
func TestCallbackBackpressure(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	const window = 4
	p := mustPublisher(t, c, "q", PublisherOptions{Window: window})
	stuck := make(chan struct{})
	nested := make(chan error, 1)
	var done func(PublishResult)
	first := true
	done = func(PublishResult) {
		if !first {
			return
		}
		first = false
		<-stuck
		// The queue is full: a callback still publishes.
		for range 2 * window {
			if err := p.Publish(testCtx(t), []byte("nested"), done); err != nil {
				nested <- err
				return
			}
		}
		nested <- nil
	}
	bg := make(chan error, 1)
	go func() {
		for range 3 * window { // more than the stuck run, the queue and the window hold
			if err := p.Publish(testCtx(t), []byte("x"), done); err != nil {
				bg <- err
				return
			}
		}
		bg <- nil
	}()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.mu.cbq) >= window
	}, testTimeout, time.Millisecond)
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	err := p.Publish(ctx, []byte("y"), done)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	close(stuck)
	require.NoError(t, <-nested)
	require.NoError(t, <-bg)
	require.NoError(t, p.Close(testCtx(t)))
	require.Len(t, s.Messages("q"), 5*window)
}

// TestDrainDeadline: when its ctx ends first, Drain closes at once, fails
// what is on its way and returns ctx's cause.
func TestDrainDeadline(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{})
	res := make(chan PublishResult, 1)
	require.NoError(t, p.Publish(testCtx(t), []byte("a"), func(r PublishResult) { res <- r }))
	h.next(t) // held: never answered
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	err := c.Drain(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, (<-res).Err, ErrClosed)
	_, err = c.NewPublisher("q", PublisherOptions{})
	require.ErrorIs(t, err, ErrClosed)
}
