package netio

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

func TestStopDrainsQueuedWrites(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.hello(10, 0)
	c.write(fetchFrame(5, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()

	// 8 MiB of replies: more than the kernel buffers take, so Stop has to
	// wait for the client to read.
	const replies = 8
	big := frame.AppendPong(nil, 0)
	big = append(big, bytes.Repeat([]byte{0xAB}, 1<<20-frame.HeaderSize)...)
	frame.PatchLength(big, 0)
	for i := 0; i < replies; i++ {
		require.NoError(t, conn.Send(big))
	}
	var g graph.Group
	g.Go("stop", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		return e.srv.Stop(ctx)
	})
	for i := 0; i < replies; i++ {
		_, raw, err := c.next()
		require.NoError(t, err)
		require.Equal(t, big, raw)
	}
	c.expectError(frame.CodeShuttingDown)
	c.expectEOF()
	require.NoError(t, g.Wait())
	require.Same(t, conn, e.waitClosed())
}

func TestStopReadingRejectsNewConnections(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	old := e.dial()
	old.hello(10, 0)
	e.srv.StopReading()
	fresh := e.dial()
	fresh.expectError(frame.CodeShuttingDown)
	fresh.expectEOF()
	// Replies still flow on the old connection.
	conn := e.srv.snapshotConns()[0]
	require.NoError(t, conn.Send(frame.AppendPong(nil, 3)))
	require.EqualValues(t, 3, old.read().Corr)
}

func TestServerLifecycle(t *testing.T) {
	ring := graph.NewRing[Inbound](4)
	_, err := New(testOptions(), nil)
	require.Error(t, err)

	s, err := New(testOptions(), ring)
	require.NoError(t, err)
	require.Nil(t, s.Addr())
	require.NoError(t, s.Stop(context.Background()), "Stop before Start does nothing")
	require.ErrorIs(t, s.Start(), ErrServerState)

	s, err = New(testOptions(), ring)
	require.NoError(t, err)
	require.NoError(t, s.Start())
	require.ErrorIs(t, s.Start(), ErrServerState)

	// A second server on the same port fails to start.
	opts := testOptions()
	opts.Addr = s.Addr().String()
	s2, err := New(opts, ring)
	require.NoError(t, err)
	require.Error(t, s2.Start())
	require.NoError(t, s2.Stop(context.Background()))

	require.NoError(t, s.Stop(context.Background()))
	require.NoError(t, s.Stop(context.Background()))
}

func TestOptionsValidateListsEverything(t *testing.T) {
	o := Options{Addr: "nonsense", MaxConns: -1, MaxFrame: 10, NumEventLoop: -2,
		HandshakeTimeout: -1, IdleTimeout: -1, MaxInbound: 5, MaxOutbound: 5}
	o.EnsureDefaults()
	err := o.Validate()
	require.Error(t, err)
	for _, want := range []string{"addr", "partitions", "num event loop", "max conns", "max frame",
		"handshake timeout", "max inbound", "max outbound"} {
		require.Contains(t, err.Error(), want)
	}
	o = testOptions()
	require.NoError(t, o.EnsureDefaults().Validate())
	require.Equal(t, DefaultInboundFrames*DefaultMaxFrame, o.MaxInbound)
	require.Equal(t, DefaultIdleTimeout, o.IdleTimeout, "a finite idle timeout by default")
	require.Equal(t, DefaultMaxConnsPerIP, o.MaxConnsPerIP)
}

func TestMetrics(t *testing.T) {
	opts := testOptions()
	opts.Metrics = metrics.NewSet()
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(10, 0)
	c.ping(1)
	c.write(fetchFrame(2, "g"))
	e.pop(1)[0].Release()
	bad := e.dial()
	bad.write([]byte{0, 0, 0, 1})
	bad.expectError(frame.CodeMalformed)
	bad.expectEOF()
	e.waitClosed()
	var buf bytes.Buffer
	opts.Metrics.WritePrometheus(&buf)
	out := buf.String()
	for _, want := range []string{
		"swarmmq_netio_connections 1",
		"swarmmq_netio_accepted_total 2",
		"swarmmq_netio_closed_total 1",
		"swarmmq_netio_frames_in_total 3",
		"swarmmq_netio_protocol_errors_total 1",
	} {
		require.Contains(t, out, want)
	}
	require.Contains(t, out, "swarmmq_netio_bytes_in_total")
	require.Contains(t, out, "swarmmq_netio_bytes_out_total")
}

// TestManyClientsSeveralLoops runs clients on two event loops at once, with
// a consumer draining a small ring and answering every frame from its own
// goroutine, the way the stages will.
func TestManyClientsSeveralLoops(t *testing.T) {
	opts := testOptions()
	opts.NumEventLoop = 2
	opts.MaxFrame = 4096
	opts.MaxInbound = 1 << 20 // 256 credits: every request may be outstanding
	e := startEnv(t, opts, 8)
	const clients, each = 8, 250
	var consumer graph.Group
	quit := make(chan struct{})
	consumer.Go("consumer", func() error {
		var batch []Inbound
		for {
			batch = e.ring.PopBatch(batch[:0], 4)
			for _, in := range batch {
				f, err := in.Frame()
				if err != nil {
					return err
				}
				err = in.Conn.Send(frame.AppendAckOK(nil, f.Corr, 0))
				in.Release()
				if err != nil {
					return err
				}
			}
			if len(batch) == 4 {
				continue
			}
			select {
			case <-e.ring.C():
			case <-quit:
				return nil
			}
		}
	})
	var g graph.Group
	for i := 0; i < clients; i++ {
		c := e.dial()
		g.Go("client", func() error {
			c.write(frame.AppendHello(nil, 1, frame.Hello{Credits: each}))
			if f := c.read(); f.Type != frame.TypeHelloOK {
				return fmt.Errorf("got %v, want HELLO_OK", f.Type)
			}
			var stream []byte
			for k := 0; k < each; k++ {
				stream = append(stream, fetchFrame(uint64(k), "g")...)
			}
			c.write(stream) // within the credits
			for k := 0; k < each; k++ {
				if f := c.read(); f.Type != frame.TypeAckOK || f.Corr != uint64(k) {
					return fmt.Errorf("reply %d: got %v corr %d", k, f.Type, f.Corr)
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	close(quit)
	require.NoError(t, consumer.Wait())
}
