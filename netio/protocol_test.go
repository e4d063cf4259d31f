package netio

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

func TestHandshakeAndPing(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame, opts.MaxInbound = 4096, 1<<20
	e := startEnv(t, opts, 16)
	c := e.dial()
	ok := c.hello(100, 8192) // above the server's: the server's holds
	require.Equal(t, "node-1", string(ok.NodeID))
	require.EqualValues(t, 100, ok.Credits)
	require.EqualValues(t, 4096, ok.MaxFrame)
	require.EqualValues(t, 16, ok.Partitions)
	c.ping(7)
	c.ping(8)

	// 0 asks for the server's values; credits are capped so that
	// credits × max frame fits MaxInbound (4 × 1 MiB by default).
	e = startEnv(t, testOptions(), 16)
	c2 := e.dial()
	ok = c2.hello(0, 0)
	require.EqualValues(t, DefaultMaxFrame, ok.MaxFrame)
	require.EqualValues(t, DefaultInboundFrames, ok.Credits)
}

// TestHelloLimits checks HELLO_OK's limits: listed (netio's own, then
// Options.Limits) only for a HELLO with FlagLimits; without the flag the
// answer is the older layout, byte for byte what it was.
func TestHelloLimits(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame, opts.MaxInbound, opts.IdleTimeout, opts.HandshakeTimeout = 4096, 1<<20, 1500*time.Millisecond, 700*time.Millisecond
	opts.Limits = []frame.Limit{{ID: frame.LimitMaxDeliver, Value: 3}}
	e := startEnv(t, opts, 16)

	c := e.dial()
	c.write(frame.AppendHello(nil, 1, frame.Hello{Credits: 8, WantLimits: true}))
	f := c.read()
	require.Equal(t, frame.TypeHelloOK, f.Type)
	require.Equal(t, frame.FlagLimits, f.Flags)
	ok, err := frame.DecodeHelloOKFlags(f.Body, f.Flags)
	require.NoError(t, err)
	require.Equal(t, []frame.Limit{
		{ID: frame.LimitIdleTimeoutMS, Value: 1500},
		{ID: frame.LimitHandshakeTimeoutMS, Value: 700},
		{ID: frame.LimitMaxMessage, Value: 4096 - frame.DeliveryOverhead},
		{ID: frame.LimitMaxBatch, Value: 4096 / frame.MessageHeaderSize},
		{ID: frame.LimitWriteStallTimeoutMS, Value: uint64(DefaultWriteStallTimeout / time.Millisecond)},
		{ID: frame.LimitMaxOutbound, Value: DefaultMaxOutbound},
		{ID: frame.LimitMaxDeliver, Value: 3},
	}, ok.Limits)

	c2 := e.dial()
	c2.write(frame.AppendHello(nil, 1, frame.Hello{Credits: 8}))
	_, raw, err := c2.next()
	require.NoError(t, err)
	require.Equal(t, frame.AppendHelloOK(nil, 1, frame.HelloOK{NodeID: []byte("node-1"), Credits: 8, MaxFrame: 4096, Partitions: 16}), raw)
}

// TestLimitsValidated checks that Options.Limits may not repeat a limit,
// netio's own included.
func TestLimitsValidated(t *testing.T) {
	opts := testOptions()
	opts.Limits = []frame.Limit{{ID: frame.LimitIdleTimeoutMS, Value: 1}}
	require.ErrorContains(t, opts.EnsureDefaults().Validate(), "idle_timeout_ms is 0 or listed twice")
	opts.Limits = []frame.Limit{{ID: frame.LimitMaxDeliver, Value: 1}, {ID: frame.LimitMaxDeliver, Value: 2}}
	require.ErrorContains(t, opts.Validate(), "max_deliver is 0 or listed twice")
}

// TestHelloMaxFrameBelowServer checks that a HELLO asking for a max frame
// below the server's is refused (BAD_REQUEST naming both sizes, then
// close): a message the node accepts could otherwise never be delivered
// on that connection.
func TestHelloMaxFrameBelowServer(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.write(frame.AppendHello(nil, 1, frame.Hello{MaxFrame: 4096}))
	f := c.read()
	require.Equal(t, frame.TypeError, f.Type)
	code, msg, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeBadRequest, code)
	require.Contains(t, string(msg), "max_frame 4096 in HELLO is below this node's max frame 1048576")
	c.expectEOF()
	e.waitClosed()

	// Exactly the server's is fine.
	ok := e.dial().hello(0, DefaultMaxFrame)
	require.EqualValues(t, DefaultMaxFrame, ok.MaxFrame)
}

func TestHandshakeRequired(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.write(frame.AppendPing(nil, 3))
	c.expectError(frame.CodeHandshakeRequired)
	c.expectEOF()
	e.waitClosed()
}

func TestSecondHelloIsBadRequest(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(frame.AppendHello(nil, 2, frame.Hello{ClientID: []byte("again")}))
	c.expectError(frame.CodeBadRequest)
	c.ping(9) // BAD_REQUEST is not fatal
}

func TestHelloMaxFrameTooSmall(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.write(frame.AppendHello(nil, 1, frame.Hello{MaxFrame: 100}))
	c.expectError(frame.CodeBadRequest)
	c.expectEOF()
}

func TestFramesDeliveredInOrder(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 4096
	opts.MaxInbound = 1 << 20 // credits for all 200 requests
	e := startEnv(t, opts, 1024)
	c := e.dial()
	require.EqualValues(t, 256, c.hello(1000, 0).Credits)
	var want [][]byte
	var stream []byte
	for i := 0; i < 200; i++ {
		f := fetchFrame(uint64(100+i), fmt.Sprintf("group-%d", i))
		want = append(want, f)
		stream = append(stream, f...)
	}
	stream = append(stream, frame.AppendPing(nil, 99)...)
	// Write in uneven pieces so frames straddle reads.
	for len(stream) > 0 {
		n := min(len(stream), 1+len(stream)%37)
		c.write(stream[:n])
		stream = stream[n:]
	}
	require.Equal(t, frame.TypePong, c.read().Type)
	got := e.pop(len(want))
	for i, in := range got {
		require.Equal(t, want[i], in.Buf.B, "frame %d", i)
		require.Equal(t, "client-a", in.Conn.ClientID())
		f, err := in.Frame()
		require.NoError(t, err)
		require.EqualValues(t, 100+i, f.Corr)
		in.Release()
	}
}

func TestBadBytesCloseOnlyThatConnection(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	healthy := e.dial()
	healthy.hello(10, 0)

	tooBigType := frame.AppendPing(nil, 1)
	tooBigType[5] = 200
	badVersion := frame.AppendPing(nil, 1)
	badVersion[4] = 2
	shortLength := []byte{0, 0, 0, 5, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	pingWithBody := frame.AppendPing(nil, 1)
	pingWithBody = append(pingWithBody, 'x')
	frame.PatchLength(pingWithBody, 0)
	for _, tc := range []struct {
		name       string
		afterHello bool
		in         []byte
		code       frame.Code
	}{
		{"http", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), frame.CodeTooLarge},
		{"4GiB", false, []byte{0xff, 0xff, 0xff, 0xff}, frame.CodeTooLarge},
		{"short-length", false, shortLength, frame.CodeMalformed},
		{"version", false, badVersion, frame.CodeUnsupportedVersion},
		{"version-after-hello", true, badVersion, frame.CodeUnsupportedVersion},
		{"type", true, tooBigType, frame.CodeUnknownType},
		{"ping-body", true, pingWithBody, frame.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial()
			if tc.afterHello {
				c.hello(10, 0)
			}
			c.write(tc.in)
			c.expectError(tc.code)
			c.expectEOF()
			healthy.ping(42)
		})
	}
}

func TestMalformedHello(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	hello := frame.AppendHello(nil, 5, frame.Hello{ClientID: []byte("x")})
	hello = append(hello, 0xAA) // trailing byte in the body
	frame.PatchLength(hello, 0)
	c := e.dial()
	c.write(hello)
	c.expectError(frame.CodeMalformed)
	c.expectEOF()
}

func TestTooLargeBeforeTheBody(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 4096
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	// Only the header of a 4097-byte frame: the error must not wait for
	// the body.
	full := append(frame.AppendPing(nil, 1), make([]byte, 4097-frame.HeaderSize)...)
	frame.PatchLength(full, 0)
	c.write(full[:frame.HeaderSize])
	c.expectError(frame.CodeTooLarge)
	c.expectEOF()
}

func TestTruncatedFrameThenClose(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.hello(10, 0)
	f := fetchFrame(1, "g")
	c.write(f[:len(f)-3])
	require.NoError(t, c.nc.Close())
	closed := e.waitClosed()
	require.Equal(t, "client-a", closed.ClientID())
	require.True(t, closed.Closed())
	require.ErrorIs(t, closed.Send(frame.AppendPing(nil, 1)), ErrClosed)
	require.Zero(t, e.ring.Len())
}

func TestHandshakeTimeout(t *testing.T) {
	opts := testOptions()
	opts.HandshakeTimeout = 50 * time.Millisecond
	e := startEnv(t, opts, 16)
	start := time.Now()
	c := e.dial()
	c.expectError(frame.CodeHandshakeTimeout)
	c.expectEOF()
	requireNotEarly(t, start, opts.HandshakeTimeout)
}

// requireNotEarly fails the test when less than d (minus a little slack:
// the server's deadlines run on the wall clock, the test's on the monotonic
// one) passed since start; it proves a timeout did not fire at once.
func requireNotEarly(t *testing.T, start time.Time, d time.Duration) {
	t.Helper()
	require.GreaterOrEqual(t, time.Since(start), d-d/10)
}

// TestIdleTimeout: a client that answers nothing is PINGed once, halfway,
// then closed with IDLE_TIMEOUT.
func TestIdleTimeout(t *testing.T) {
	opts := testOptions()
	opts.IdleTimeout = 50 * time.Millisecond
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	c.expectError(frame.CodeIdleTimeout)
	c.expectEOF()
	require.Equal(t, 1, c.keepalives, "keep-alive PINGs before the idle timeout")
}

// TestKeepAlive: a client that answers the server's PINGs with PONG stays
// open through many idle timeouts, sending nothing else; a client PONG is
// accepted, not refused as a type clients may not send. The client has
// half the idle timeout to answer each PING: 200 ms, so that a loaded
// machine's scheduling does not close it.
func TestKeepAlive(t *testing.T) {
	opts := testOptions()
	opts.IdleTimeout = 400 * time.Millisecond
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	start := time.Now()
	for range 5 {
		f, _, err := c.next()
		require.NoError(t, err)
		require.Equal(t, frame.TypePing, f.Type, "got %v", f.Type)
		require.Zero(t, f.Corr)
		c.write(frame.AppendPong(nil, 0))
	}
	require.Greater(t, time.Since(start), 2*opts.IdleTimeout)
	c.ping(7) // still open
}

func TestMaxConns(t *testing.T) {
	opts := testOptions()
	opts.MaxConns = 1
	e := startEnv(t, opts, 16)
	first := e.dial()
	first.hello(10, 0)
	second := e.dial()
	second.expectError(frame.CodeTooManyConnections)
	second.expectEOF()
	first.ping(1)
	require.NoError(t, first.nc.Close())
	e.waitClosed()
	third := e.dial()
	third.hello(10, 0)
}

func TestExpired(t *testing.T) {
	opts := testOptions()
	opts.HandshakeTimeout = 100
	opts.IdleTimeout = 1000
	s, err := New(opts, graph.NewRing[Inbound](1))
	require.NoError(t, err)
	add := func(id uint64, opened, active int64, hello, held bool) *Conn {
		c := &Conn{srv: s, id: id, openedAt: opened}
		c.lastActive.Store(active)
		c.handshaken.Store(hello)
		c.held.Store(held)
		s.conns.m[id] = c
		return c
	}
	add(1, 0, 0, false, false)                     // handshake expires at 100
	add(2, 0, 500, true, false)                    // idle expires at 1500
	add(3, 0, 0, true, true)                       // held: never idle
	add(4, 50, 50, false, false)                   // handshake expires at 150
	add(5, 0, 0, false, false).closing.Store(true) // closing: ignored
	add(6, 0, 0, true, false).outstanding.Store(1) // a request outstanding (a long poll): never idle
	codes := func(now int64) map[uint64]frame.Code {
		m := map[uint64]frame.Code{}
		for _, e := range s.expired(now) {
			m[e.c.id] = e.code
		}
		return m
	}
	require.Empty(t, codes(99))
	require.Equal(t, map[uint64]frame.Code{1: frame.CodeHandshakeTimeout}, codes(100))
	// Halfway through its idle timeout, 2 is PINGed (CodeOK), once.
	require.Equal(t, map[uint64]frame.Code{1: frame.CodeHandshakeTimeout, 4: frame.CodeHandshakeTimeout}, codes(999))
	require.Equal(t, map[uint64]frame.Code{1: frame.CodeHandshakeTimeout, 2: frame.CodeOK, 4: frame.CodeHandshakeTimeout}, codes(1000))
	require.Equal(t, map[uint64]frame.Code{1: frame.CodeHandshakeTimeout, 4: frame.CodeHandshakeTimeout}, codes(1499))
	require.Equal(t, frame.CodeIdleTimeout, codes(1500)[2])
	require.NotContains(t, codes(1<<40), uint64(3))
	require.NotContains(t, codes(1<<40), uint64(6))
}

// TestIdleHalfFrame: a client that sends half a frame after HELLO is
// closed with IDLE_TIMEOUT: only whole frames count as activity.
func TestIdleHalfFrame(t *testing.T) {
	opts := testOptions()
	opts.IdleTimeout = 200 * time.Millisecond
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	start := time.Now()
	c.write(frame.AppendPing(nil, 1)[:frame.HeaderSize-3])
	c.expectError(frame.CodeIdleTimeout)
	requireNotEarly(t, start, opts.IdleTimeout)
	c.expectEOF()
}

// TestIdleNotWhileOutstanding: a request handed to the ring keeps its
// connection from idling until its reply is queued (a FETCH in a long
// poll); then the idle clock starts again.
func TestIdleNotWhileOutstanding(t *testing.T) {
	opts := testOptions()
	opts.IdleTimeout = 1000
	s, err := New(opts, graph.NewRing[Inbound](1))
	require.NoError(t, err)
	c := newConn(s, nil, 0)
	c.handshaken.Store(true)
	s.conns.m[1] = c
	c.outstanding.Add(1)
	require.Empty(t, s.expired(1<<40), "a request is outstanding")
	c.outstanding.Add(1)
	c.outstanding.Add(-replies(append(frame.AppendAckOK(nil, 1, 1), frame.AppendNackOK(nil, 2, 1)...)))
	c.replied()
	require.Zero(t, c.outstanding.Load())
	require.Greater(t, c.lastActive.Load(), int64(0), "the idle clock restarts at the last reply")
	now := c.lastActive.Load()
	require.Empty(t, s.expired(now+499))
	require.Equal(t, frame.CodeOK, s.expired(now + 500)[0].code, "a keep-alive PING halfway")
	require.Empty(t, s.expired(now+999))
	require.Equal(t, frame.CodeIdleTimeout, s.expired(now + 1000)[0].code)
}

func TestMaxConnsPerIP(t *testing.T) {
	opts := testOptions()
	opts.MaxConnsPerIP = 2
	e := startEnv(t, opts, 16)
	first, second := e.dial(), e.dial()
	first.hello(10, 0)
	second.hello(10, 0)
	third := e.dial()
	f := third.read()
	require.Equal(t, frame.TypeError, f.Type)
	code, msg, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeTooManyConnections, code)
	require.Equal(t, "too many connections from 127.0.0.1 (at most 2 per address)", string(msg))
	third.expectEOF()
	require.EqualValues(t, 1, e.srv.metrics.refusedPerIP.Get())
	require.NoError(t, first.nc.Close())
	e.waitClosed()
	e.dial().hello(10, 0) // room again
}
