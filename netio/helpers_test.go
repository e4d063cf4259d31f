package netio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet creates an ants worker pool in a package variable; its two
		// maintenance goroutines live as long as the process.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// waitTimeout bounds every wait in these tests; nothing sleeps.
const waitTimeout = 10 * time.Second

// env is a running server with its ring and a record of closed connections.
type env struct {
	t      *testing.T
	srv    *Server
	ring   *graph.Ring[Inbound]
	closed chan *Conn
}

func testOptions() Options {
	return Options{Addr: "127.0.0.1:0", NodeID: "node-1", Partitions: 16}
}

func startEnv(t *testing.T, opts Options, ringCap int) *env {
	t.Helper()
	e := &env{t: t, ring: graph.NewRing[Inbound](ringCap), closed: make(chan *Conn, 1024)}
	opts.Hooks.OnClose = func(c *Conn) { e.closed <- c }
	srv, err := New(opts, e.ring)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	e.srv = srv
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		require.NoError(t, srv.Stop(ctx))
		e.releaseAll()
	})
	return e
}

// pop waits for n inbound frames.
func (e *env) pop(n int) []Inbound {
	e.t.Helper()
	var got []Inbound
	deadline := time.After(waitTimeout)
	for len(got) < n {
		got = e.ring.PopBatch(got, n-len(got))
		if len(got) == n {
			break
		}
		select {
		case <-e.ring.C():
		case <-deadline:
			e.t.Fatalf("got %d inbound frames, want %d", len(got), n)
		}
	}
	return got
}

func (e *env) releaseAll() {
	for _, in := range e.ring.PopBatch(nil, e.ring.Cap()) {
		in.Release()
	}
}

// waitClosed waits for the OnClose hook of some connection.
func (e *env) waitClosed() *Conn {
	e.t.Helper()
	select {
	case c := <-e.closed:
		return c
	case <-time.After(waitTimeout):
		e.t.Fatal("no connection closed")
		return nil
	}
}

// eventually polls cond until it holds or waitTimeout passes.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}

// client is a plain TCP client speaking frames.
type client struct {
	t   *testing.T
	nc  net.Conn
	buf []byte
	// keepalives counts the server's keep-alive PINGs (correlation id 0)
	// read skipped without answering them.
	keepalives int
}

func (e *env) dial() *client {
	e.t.Helper()
	nc, err := net.DialTimeout("tcp", e.srv.Addr().String(), waitTimeout)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = nc.Close() })
	return &client{t: e.t, nc: nc}
}

func (c *client) write(b []byte) {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetWriteDeadline(time.Now().Add(waitTimeout)))
	_, err := c.nc.Write(b)
	require.NoError(c.t, err)
}

// next reads one whole frame; the frame's bytes are its own.
func (c *client) next() (frame.Frame, []byte, error) {
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	chunk := make([]byte, 64<<10)
	for {
		_, n, err := frame.Decode(c.buf, 1<<30)
		require.NoError(c.t, err)
		if n > 0 {
			raw := bytes.Clone(c.buf[:n])
			c.buf = c.buf[n:]
			f, _, _ := frame.Decode(raw, 1<<30)
			return f, raw, nil
		}
		k, err := c.nc.Read(chunk)
		c.buf = append(c.buf, chunk[:k]...)
		if err != nil {
			return frame.Frame{}, nil, err
		}
	}
}

// read returns the next frame but the server's keep-alive PINGs, which it
// counts and leaves unanswered.
func (c *client) read() frame.Frame {
	c.t.Helper()
	for {
		f, _, err := c.next()
		require.NoError(c.t, err)
		if f.Type == frame.TypePing && f.Corr == 0 {
			c.keepalives++
			continue
		}
		return f
	}
}

func (c *client) hello(credits, maxFrame uint32) frame.HelloOK {
	c.t.Helper()
	c.write(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("client-a"), Credits: credits, MaxFrame: maxFrame}))
	f := c.read()
	require.Equal(c.t, frame.TypeHelloOK, f.Type, "got %v", f.Type)
	require.EqualValues(c.t, 1, f.Corr)
	ok, err := frame.DecodeHelloOK(f.Body)
	require.NoError(c.t, err)
	return ok
}

func (c *client) ping(corr uint64) {
	c.t.Helper()
	c.write(frame.AppendPing(nil, corr))
	f := c.read()
	require.Equal(c.t, frame.TypePong, f.Type)
	require.Equal(c.t, corr, f.Corr)
}

// expectError reads an ERROR frame with the given code.
func (c *client) expectError(code frame.Code) {
	c.t.Helper()
	f := c.read()
	require.Equal(c.t, frame.TypeError, f.Type)
	got, msg, err := frame.DecodeError(f.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, code, got, "message %q", msg)
}

// expectEOF checks that the server closed the connection.
func (c *client) expectEOF() {
	c.t.Helper()
	f, _, err := c.next()
	require.Error(c.t, err, "got frame %v instead of EOF", f.Type)
	if !errors.Is(err, io.EOF) {
		var ne net.Error
		require.False(c.t, errors.As(err, &ne) && ne.Timeout(), "timed out waiting for EOF")
	}
}

// fetchFrame returns a FETCH frame; netio does not look at bodies, so any
// valid request type will do as payload in these tests.
func fetchFrame(corr uint64, group string) []byte {
	return frame.AppendFetch(nil, corr, frame.Fetch{Destination: []byte("test-queue"), Group: []byte(group), Max: 10})
}
