package netio

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
)

// TestReplies: every frame that answers a request returns its credit; PONG
// and HELLO_OK do not, and a cut frame ends the count.
func TestReplies(t *testing.T) {
	f := func(want int64, b []byte) {
		t.Helper()
		require.Equal(t, want, replies(b))
	}
	f(0, nil)
	f(1, frame.AppendPublishAck(nil, 1, []frame.AckEntry{{Seq: 1}}))
	ms := frame.StartMessages(nil, 2)
	frame.FinishMessages(ms, 0, 0)
	f(1, ms)
	f(1, frame.AppendAckOK(nil, 3, 1))
	f(1, frame.AppendNackOK(nil, 4, 1))
	f(1, frame.AppendError(nil, 5, frame.CodeBadDestination, "no"))
	f(0, frame.AppendPong(nil, 6))
	f(0, frame.AppendHelloOK(nil, 7, frame.HelloOK{Credits: 1}))
	all := frame.AppendAckOK(frame.AppendPong(frame.AppendAckOK(nil, 1, 1), 2), 3, 1)
	f(2, all)
	f(1, all[:len(all)-1]) // the last frame is cut
}

// readUntilError reads frames, counting PONGs, until an ERROR; it returns
// the PONGs seen and the ERROR.
func (c *client) readUntilError() (pongs int, f frame.Frame) {
	c.t.Helper()
	for {
		f = c.read()
		switch f.Type {
		case frame.TypePong:
			pongs++
		case frame.TypeError:
			return pongs, f
		default:
			c.t.Fatalf("got %v", f.Type)
		}
	}
}

// TestCreditsEnforcedAtTheExceedingRequest: with 4 credits, the fifth
// unanswered request gets FLOW_CONTROL at once, whatever the bytes; PINGs
// take no credit.
func TestCreditsEnforcedAtTheExceedingRequest(t *testing.T) {
	e := startEnv(t, testOptions(), 64)
	c := e.dial()
	require.EqualValues(t, 4, c.hello(4, 0).Credits)
	var b []byte
	for i := range 4 {
		b = append(b, fetchFrame(uint64(10+i), "g")...)
	}
	b = frame.AppendPing(frame.AppendPing(b, 1), 2)
	b = append(b, fetchFrame(14, "g")...)
	b = append(b, fetchFrame(15, "g")...)
	c.write(b)
	pongs, f := c.readUntilError()
	require.Equal(t, 2, pongs)
	code, _, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeFlowControl, code)
	require.EqualValues(t, 14, f.Corr, "the request that exceeds the credits is named")
	c.expectEOF()
	require.Equal(t, 4, e.ring.Len())
	require.EqualValues(t, 1, e.srv.metrics.flowControl.Get())
}

// TestRepliesReturnCredits: ACK_OK and a non-fatal ERROR each give a credit
// back; the request after that is accepted and the next one refused.
func TestRepliesReturnCredits(t *testing.T) {
	e := startEnv(t, testOptions(), 64)
	c := e.dial()
	require.EqualValues(t, 2, c.hello(2, 0).Credits)
	c.write(append(fetchFrame(1, "g"), fetchFrame(2, "g")...))
	in := e.pop(2)
	conn := in[0].Conn
	require.NoError(t, conn.Send(frame.AppendAckOK(nil, 1, 0)))
	require.NoError(t, conn.SendError(2, frame.CodeBadGroup, "no"))
	in[0].Release()
	in[1].Release()
	require.Equal(t, frame.TypeAckOK, c.read().Type)
	c.expectError(frame.CodeBadGroup)
	c.write(append(fetchFrame(3, "g"), fetchFrame(4, "g")...))
	e.pop(2)[1].Release()
	c.write(fetchFrame(5, "g"))
	c.expectError(frame.CodeFlowControl)
}

// TestHeldBackBoundedByCredits: while the ring is full, the requests a
// connection sends still count against its credits, one by one: what it
// may have buffered is bounded by them, not by MaxInbound.
func TestHeldBackBoundedByCredits(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 4096
	opts.MaxInbound = 64 << 20
	e := startEnv(t, opts, 1)
	c := e.dial()
	require.EqualValues(t, 16, c.hello(16, 0).Credits)
	// 20,000 small requests (780 KB): far within MaxInbound, far beyond
	// 16 credits of at most 4 KiB.
	var b []byte
	for i := range 20000 {
		b = append(b, fetchFrame(uint64(i), "g")...)
	}
	done := make(chan error, 1)
	go func() { _, err := c.nc.Write(b); done <- err }() // the server closes while it writes
	_, f := c.readUntilError()
	code, _, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeFlowControl, code)
	if err := <-done; err != nil {
		t.Logf("the client's write ended with %v (the server closed)", err)
	}
}

// TestBudgetHoldsBack: once the server's budget is spent, a connection that
// holds bytes hands nothing more on; one that holds none still may. The
// held request goes on once bytes are released.
func TestBudgetHoldsBack(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 4096
	opts.MaxBuffered = 8 << 10
	e := startEnv(t, opts, 64)
	a, b := e.dial(), e.dial()
	a.hello(16, 0)
	b.hello(16, 0)
	var stream []byte
	for i := range 3 {
		stream = append(stream, publishFrame(uint64(i), 3000)...)
	}
	a.write(stream) // 9 KiB: the third spends the budget
	first := e.pop(3)
	b.write(append(publishFrame(10, 100), publishFrame(11, 100)...))
	got := e.pop(1) // b held nothing: it may go on
	require.EqualValues(t, 10, frameCorr(t, got[0]))
	eventually(t, func() bool { return connHeld(e.srv) }, "b to be held back")
	require.Zero(t, e.ring.Len())
	require.EqualValues(t, 1, e.srv.metrics.byteWaits.Get())
	require.GreaterOrEqual(t, e.srv.budget.pipeline.Load(), int64(9000))
	for _, in := range first {
		in.Release()
	}
	require.EqualValues(t, 11, frameCorr(t, e.pop(1)[0]))
	got[0].Release()
}

func frameCorr(t *testing.T, in Inbound) uint64 {
	f, err := in.Frame()
	require.NoError(t, err)
	return f.Corr
}

// fillUnread queues replies on conn, whose client does not read, until at
// least min bytes wait unwritten.
func fillUnread(t *testing.T, conn *Conn, min int64) {
	t.Helper()
	reply := frame.AppendPong(nil, 1)
	reply = append(reply, make([]byte, 32<<10)...)
	frame.PatchLength(reply, 0)
	eventually(t, func() bool {
		if conn.outBytes.Load() >= min {
			return true
		}
		require.NoError(t, conn.Send(reply))
		return false
	}, "replies to pile up")
}

// TestOwnRepliesHoldBack: a connection whose unwritten replies reach half
// of MaxOutbound hands no request on until they drain.
func TestOwnRepliesHoldBack(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 64 << 10
	opts.MaxOutbound = 1 << 20
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(fetchFrame(1, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()
	fillUnread(t, conn, 512<<10)
	c.write(fetchFrame(2, "g"))
	eventually(t, func() bool { return connHeld(e.srv) }, "the connection to be held back")
	require.Zero(t, e.ring.Len())
	// The client reads: its replies drain and its request goes on.
	go func() { _, _ = io.Copy(io.Discard, c.nc) }() // ends when the test closes nc
	require.EqualValues(t, 2, frameCorr(t, e.pop(1)[0]))
	require.Zero(t, e.srv.metrics.slowConsumers.Get())
}

// TestBackloggedUntilRepliesDrain: Backlogged reports a connection whose
// unwritten replies reach MaxFrame (the stages then build no more of its
// replies), and stops once the client has read them.
func TestBackloggedUntilRepliesDrain(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 256 << 10
	opts.MaxOutbound = 4 << 20
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(fetchFrame(1, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()
	require.False(t, conn.Backlogged())
	fillUnread(t, conn, 128<<10)
	require.False(t, conn.Backlogged(), "below one frame")
	fillUnread(t, conn, 256<<10)
	require.True(t, conn.Backlogged())
	go func() { _, _ = io.Copy(io.Discard, c.nc) }() // ends when the test closes nc
	eventually(t, func() bool { return !conn.Backlogged() }, "the replies to drain")
	require.False(t, conn.Closed())
}

// TestWriteStallClosesConnection: replies that make no write progress for
// WriteStallTimeout close the connection with SLOW_CONSUMER, far below
// MaxOutbound.
func TestWriteStallClosesConnection(t *testing.T) {
	opts := testOptions()
	opts.WriteStallTimeout = 300 * time.Millisecond
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(fetchFrame(1, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()
	fillUnread(t, conn, 256<<10)
	require.Same(t, conn, e.waitClosed())
	require.EqualValues(t, 1, e.srv.metrics.writeStalls.Get())
	require.EqualValues(t, 1, e.srv.metrics.slowConsumers.Get())
	require.Zero(t, e.srv.budget.outbound.Load(), "a closed connection's bytes leave the budget")
}

// TestPipelineBoundHoldsBack: a connection whose requests in the pipeline
// reach MaxPipeline hands no more on until the stages release some; its
// first request goes on whatever its size.
func TestPipelineBoundHoldsBack(t *testing.T) {
	opts := testOptions()
	opts.MaxPipeline = 4000
	e := startEnv(t, opts, 64)
	c := e.dial()
	c.hello(16, 0)
	c.write(append(publishFrame(1, 5000), publishFrame(2, 100)...))
	first := e.pop(1)[0]
	eventually(t, func() bool { return connHeld(e.srv) }, "the connection to be held back")
	require.Zero(t, e.ring.Len())
	first.Release()
	require.EqualValues(t, 2, frameCorr(t, e.pop(1)[0]))
}
