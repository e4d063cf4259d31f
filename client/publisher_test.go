package client

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// collector gathers the results of a Publisher's callbacks.
type collector struct {
	mu      sync.Mutex
	results []PublishResult
}

func (c *collector) done(r PublishResult) {
	c.mu.Lock()
	c.results = append(c.results, r)
	c.mu.Unlock()
}

func (c *collector) get() []PublishResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]PublishResult(nil), c.results...)
}

func TestPublisherOptions(t *testing.T) {
	o := PublisherOptions{}
	o.EnsureDefaults()
	require.Equal(t, PublisherOptions{Window: DefaultWindow, MaxBatch: DefaultMaxBatch, MaxInFlight: DefaultMaxInFlight}, o)
	require.NoError(t, o.Validate())
	err := PublisherOptions{Window: -1, MaxBatch: -1, Linger: -1, MaxInFlight: -1}.Validate()
	require.ErrorContains(t, err, "window -1")
	require.ErrorContains(t, err, "max batch -1")
	require.ErrorContains(t, err, "linger")
	require.ErrorContains(t, err, "in-flight frames -1")
}

func TestPublisher(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "test-queue", PublisherOptions{})
	var col collector
	const n = 5000
	for i := range n {
		require.NoError(t, p.Publish(testCtx(t), fmt.Appendf(nil, "m-%d", i), col.done))
	}
	require.NoError(t, p.Close(testCtx(t)))
	res := col.get()
	require.Len(t, res, n)
	for i, r := range res {
		require.NoError(t, r.Err)
		require.Equal(t, uint64(i+1), r.Seq, "callbacks run in publish order")
	}
	stored := s.Messages("test-queue")
	require.Len(t, stored, n)
	for i, m := range stored {
		require.Equal(t, fmt.Sprintf("m-%d", i), string(m.Payload))
		require.Equal(t, res[i].ID, m.ID)
	}
	require.ErrorIs(t, p.Publish(testCtx(t), []byte("late"), nil), ErrClosed)
}

// With one credit, the first frame waits for its ack while every later
// message accumulates in the next frame.
func TestPublisherCoalesces(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Credits: 1, Intercept: h.intercept})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{})
	var col collector
	const n = 100
	require.NoError(t, p.Publish(testCtx(t), []byte("first"), col.done))
	first := h.next(t)
	_, msgs := decodePublish(t, first.f)
	require.Len(t, msgs, 1)
	for range n - 1 {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	}
	first.serve()
	second := h.next(t)
	_, msgs = decodePublish(t, second.f)
	require.Len(t, msgs, n-1, "the rest share one frame")
	second.serve()
	require.NoError(t, p.Flush(testCtx(t)))
	require.Len(t, col.get(), n)
}

// TestPublisherMaxInFlight: with MaxInFlight frames unacknowledged, new
// messages wait in one growing batch even though credits are free.
func TestPublisherMaxInFlight(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Credits: 64, Intercept: h.intercept})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{MaxInFlight: 2})
	var col collector
	require.NoError(t, p.Publish(testCtx(t), []byte("a"), col.done))
	first := h.next(t)
	require.NoError(t, p.Publish(testCtx(t), []byte("b"), col.done))
	second := h.next(t)
	const n = 50
	for range n {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	}
	// Two frames are out: the 50 wait, together, for one to be acked.
	first.serve()
	third := h.next(t)
	_, msgs := decodePublish(t, third.f)
	require.Len(t, msgs, n, "the waiting messages share one frame")
	second.serve()
	third.serve()
	require.NoError(t, p.Flush(testCtx(t)))
	require.Len(t, col.get(), n+2)
}

func TestPublisherMaxBatch(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Credits: 1, Intercept: h.intercept})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{MaxBatch: 10})
	for range 95 {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), nil))
	}
	total := 0
	for total < 95 {
		x := h.next(t)
		_, msgs := decodePublish(t, x.f)
		require.LessOrEqual(t, len(msgs), 10)
		total += len(msgs)
		x.serve()
	}
	require.NoError(t, p.Flush(testCtx(t)))
}

func TestPublisherWindow(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, nil)
	// MaxInFlight as large as the window: the window alone must hold the
	// eleventh back. With the default of 4 frames, a slow writer that
	// sends the first messages one frame each would hold the rest back
	// on the frame cap instead, and the loop below would wait for ever.
	p := mustPublisher(t, c, "q", PublisherOptions{Window: 10, MaxInFlight: 10})
	for range 10 {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), nil))
	}
	// The window is full: Publish waits, and gives up with its context.
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	err := p.Publish(ctx, []byte("x"), nil)
	require.ErrorIs(t, err, context.Canceled)
	require.EqualError(t, err, "swarmmq: publish to q: context canceled")

	done := make(chan error, 1)
	go func() { done <- p.Publish(testCtx(t), []byte("eleventh"), nil) }()
	unacked := 0
	for unacked < 10 {
		x := h.next(t)
		_, msgs := decodePublish(t, x.f)
		unacked += len(msgs)
		if unacked == 10 {
			x.serve() // frees the window
		} else {
			defer x.serve()
		}
	}
	require.Equal(t, 10, unacked, "never more than the window in flight")
	require.NoError(t, <-done)
	x := h.next(t)
	_, msgs := decodePublish(t, x.f)
	require.Equal(t, "eleventh", string(msgs[0].Payload))
	x.serve()
}

func TestPublisherLinger(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{Linger: 1 << 40})
	for range 5 {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), nil))
	}
	// A ping is written after anything ready to go: the lingering batch
	// is not.
	require.NoError(t, c.Ping(testCtx(t)))
	require.Empty(t, framesOf(s, frame.TypePublish))
	require.NoError(t, p.Flush(testCtx(t)))
	pubs := framesOf(s, frame.TypePublish)
	require.Len(t, pubs, 1)
	_, msgs := decodePublish(t, pubs[0])
	require.Len(t, msgs, 5)
	require.NoError(t, p.Close(testCtx(t)))
}

func TestPublisherTooLarge(t *testing.T) {
	s := startServer(t, clienttest.Options{MaxFrame: 4096})
	c := dial(t, s, func(o *Options) { o.MaxFrame = 4096 })
	p := mustPublisher(t, c, "q", PublisherOptions{})
	err := p.Publish(testCtx(t), make([]byte, 4096-32-44+1), nil)
	require.Equal(t, frame.CodeTooLarge, frame.CodeOf(err))
	require.EqualError(t, err, "swarmmq: publish to q: TOO_LARGE: message of 4065 bytes (payload and 44-byte header) "+
		"does not fit in frames of at most 4096 bytes")
	require.NoError(t, p.Publish(testCtx(t), make([]byte, 4096-32-44), nil))
	require.NoError(t, p.Close(testCtx(t)))
}

func TestPublisherPerMessageErrors(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(_ string, m frame.Message) frame.Code {
		if string(m.Payload) == "bad" {
			return frame.CodeChecksum
		}
		return frame.CodeOK
	}})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{})
	var col collector
	for _, m := range []string{"a", "bad", "b"} {
		require.NoError(t, p.Publish(testCtx(t), []byte(m), col.done))
	}
	require.NoError(t, p.Close(testCtx(t)))
	res := col.get()
	require.NoError(t, res[0].Err)
	require.EqualError(t, res[1].Err, "swarmmq: publish to q: CHECKSUM")
	require.NoError(t, res[2].Err)
}

func TestClientCloseFailsPublisher(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Credits: 1, Intercept: h.intercept})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{})
	var col collector
	for range 10 {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	}
	h.next(t) // one frame in flight, the rest waiting for a credit
	c.Close()
	// Flush waits for the callbacks, which run on their own goroutine.
	require.ErrorIs(t, p.Flush(testCtx(t)), ErrClosed)
	res := col.get()
	require.Len(t, res, 10)
	for _, r := range res {
		require.ErrorIs(t, r.Err, ErrClosed)
	}
	require.ErrorIs(t, p.Publish(testCtx(t), []byte("x"), nil), ErrClosed)
	require.ErrorIs(t, p.Flush(testCtx(t)), ErrClosed)
	_, err := c.NewPublisher("q", PublisherOptions{})
	require.ErrorIs(t, err, ErrClosed)
}

func TestPublisherTimeout(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, func(o *Options) { o.RequestTimeout = shortRequestTimeout })
	p := mustPublisher(t, c, "q", PublisherOptions{})
	var col collector
	require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	x := h.next(t)
	require.NoError(t, p.Flush(testCtx(t)), "the batch times out")
	res := col.get()
	require.Len(t, res, 1)
	require.ErrorIs(t, res[0].Err, ErrTimeout)
	require.EqualError(t, res[0].Err, "swarmmq: publish to q: request timed out")
	// The late reply is dropped, and frees the credit the server counted.
	x.serve()
	barrier(t, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Empty(t, c.mu.pending)
	require.Len(t, col.get(), 1, "no second callback")
}
