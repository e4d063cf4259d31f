package netio

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

// TestBackpressure fills a ring of capacity 1 and checks that the
// connection's later frames are held in gnet's buffer, then all delivered,
// in order, as the ring is drained one frame at a time.
func TestBackpressure(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 4096
	opts.MaxInbound = 1 << 20
	e := startEnv(t, opts, 1)
	c := e.dial()
	require.EqualValues(t, 64, c.hello(64, 0).Credits)
	const n = 50
	var want [][]byte
	var stream []byte
	for i := 0; i < n; i++ {
		f := fetchFrame(uint64(i), fmt.Sprintf("g%d", i))
		want = append(want, f)
		stream = append(stream, f...)
	}
	c.write(stream)
	eventually(t, func() bool { return e.ring.Len() == 1 && connHeld(e.srv) }, "the connection to be held back")
	for i := 0; i < n; i++ {
		in := e.pop(1)[0]
		require.Equal(t, want[i], in.Buf.B, "frame %d", i)
		in.Release()
	}
	c.ping(77) // the connection is still healthy
	require.Zero(t, e.ring.Len())
}

func connHeld(s *Server) bool {
	for _, c := range s.snapshotConns() {
		if c.held.Load() {
			return true
		}
	}
	return false
}

func TestFlowControl(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 256
	opts.MaxInbound = 1024
	e := startEnv(t, opts, 1)
	c := e.dial()
	ok := c.hello(100, 0)
	require.EqualValues(t, 4, ok.Credits, "credits × max frame ≤ max inbound")
	// Ignore the credits: 100 frames while the ring holds one.
	var stream []byte
	for i := 0; i < 100; i++ {
		stream = append(stream, fetchFrame(uint64(i), "g")...)
	}
	c.write(stream)
	for {
		f := c.read()
		if f.Type == frame.TypeError {
			code, _, err := frame.DecodeError(f.Body)
			require.NoError(t, err)
			require.Equal(t, frame.CodeFlowControl, code)
			break
		}
	}
	c.expectEOF()
}

func TestSendFromOtherGoroutines(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(fetchFrame(5, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()

	const senders, each = 4, 200
	var g graph.Group
	for s := 0; s < senders; s++ {
		g.Go("sender", func() error {
			for i := 0; i < each; i++ {
				if err := conn.Send(frame.AppendPong(nil, uint64(s<<32|i))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	next := make([]int, senders)
	for k := 0; k < senders*each; k++ {
		f := c.read()
		require.Equal(t, frame.TypePong, f.Type)
		s, i := int(f.Corr>>32), int(f.Corr&0xffffffff)
		require.Equal(t, next[s], i, "sender %d out of order", s)
		next[s]++
	}
	require.NoError(t, g.Wait())
}

func TestSendErrorFatalCloses(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(fetchFrame(5, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()

	require.NoError(t, conn.SendError(5, frame.CodeBadDestination, "no such destination"))
	c.expectError(frame.CodeBadDestination)
	c.ping(1)

	conn.SetValue("state")
	require.Equal(t, "state", conn.Value())
	require.NoError(t, conn.Send(frame.AppendPong(nil, 11)))
	require.NoError(t, conn.SendError(0, frame.CodeSlowConsumer, "go away"))
	require.True(t, conn.Closed())
	require.ErrorIs(t, conn.Send(frame.AppendPong(nil, 12)), ErrClosed)
	require.ErrorIs(t, conn.SendError(0, frame.CodeInternal, "x"), ErrClosed)
	require.Equal(t, uint64(11), c.read().Corr, "replies queued before the error come first")
	c.expectError(frame.CodeSlowConsumer)
	c.expectEOF()
	require.Same(t, conn, e.waitClosed())
}

func TestSlowReaderClosed(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 64 << 10
	opts.MaxOutbound = 256 << 10
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(fetchFrame(5, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()

	// The client never reads. Kernel buffers absorb a few MiB, then gnet
	// buffers, then the limit trips.
	reply := frame.AppendPong(nil, 1)
	reply = append(reply, make([]byte, 32<<10)...)
	frame.PatchLength(reply, 0)
	sent := 0
	eventually(t, func() bool {
		for i := 0; i < 64; i++ {
			if err := conn.Send(reply); err != nil {
				return true
			}
			sent++
		}
		return false
	}, "Send to fail")
	require.Same(t, conn, e.waitClosed())
	t.Logf("sent %d KiB before SLOW_CONSUMER", sent*len(reply)>>10)
}
