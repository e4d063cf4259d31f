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

// testTimeout bounds every wait of a test, so that a bug fails instead of
// hanging.
const testTimeout = 10 * time.Second

// shortRequestTimeout is the RequestTimeout of the tests whose requests
// must time out. A request still queued when it runs out is dropped
// unwritten, and these tests need it written first (they hold it at the
// server and answer it late): on a loaded machine under -race, writing
// can take longer than a few tens of milliseconds.
const shortRequestTimeout = 500 * time.Millisecond

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startServer starts a fake node that the test closes at its end.
func startServer(t *testing.T, opts clienttest.Options) *clienttest.Server {
	t.Helper()
	s, err := clienttest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// dial connects a Client to s; mod adjusts the options. The client is
// closed before the server at the end of the test.
func dial(t *testing.T, s *clienttest.Server, mod func(*Options)) *Client {
	t.Helper()
	opts := Options{Addr: s.Addr(), ClientID: "test-client", ReconnectWait: time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	c, err := Dial(testCtx(t), opts)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// mustPublisher returns a new Publisher of c to dest.
func mustPublisher(t testing.TB, c *Client, dest string, opts PublisherOptions) *Publisher {
	t.Helper()
	p, err := c.NewPublisher(dest, opts)
	require.NoError(t, err)
	return p
}

// framesOf returns the recorded frames of type typ.
func framesOf(s *clienttest.Server, typ frame.Type) []clienttest.Frame {
	var out []clienttest.Frame
	for _, f := range s.Frames() {
		if f.Type == typ {
			out = append(out, f)
		}
	}
	return out
}

// decodePublish decodes a recorded PUBLISH frame and returns its messages.
func decodePublish(t *testing.T, f clienttest.Frame) (string, []frame.Message) {
	t.Helper()
	p, err := frame.DecodePublish(f.Body, 0)
	require.NoError(t, err)
	var msgs []frame.Message
	for m, _, ok := p.Next(); ok; m, _, ok = p.Next() {
		msgs = append(msgs, m)
	}
	return string(p.Destination), msgs
}

// holder is an Intercept that keeps the frames of one type instead of
// answering them, and reports each on a channel; the test releases them
// with serve.
type holder struct {
	typ    frame.Type
	frames chan held
}

type held struct {
	c *clienttest.Conn
	f clienttest.Frame
}

func newHolder(typ frame.Type) *holder {
	return &holder{typ: typ, frames: make(chan held, 1024)}
}

func (h *holder) intercept(c *clienttest.Conn, f clienttest.Frame) bool {
	if f.Type != h.typ {
		return false
	}
	h.frames <- held{c, f}
	return true
}

// next waits for the next held frame.
func (h *holder) next(t *testing.T) held {
	t.Helper()
	select {
	case x := <-h.frames:
		return x
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for a frame")
		return held{}
	}
}

func (x held) serve() { x.c.Serve(x.f) }

// barrier returns once c has handled every reply the server sent before:
// the server answers in order, so the PONG of a PING comes after them. A
// ping that times out (a slow machine under shortRequestTimeout) is
// retried; its late PONG is handled before the next one's.
func barrier(t *testing.T, c *Client) {
	t.Helper()
	ctx := testCtx(t)
	for {
		err := c.Ping(ctx)
		if !errors.Is(err, ErrTimeout) {
			require.NoError(t, err)
			return
		}
	}
}
