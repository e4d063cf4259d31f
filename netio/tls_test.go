package netio

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio/tlsconf"
)

func TestTLSHandshakeAndPing(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.MaxFrame, opts.MaxInbound = 4096, 1<<20
	e := startEnv(t, opts, 16)
	require.Nil(t, e.srv.PlainAddr())
	c := e.dialTLS(p.clientConfig(nil))
	state := c.nc.(*tls.Conn).ConnectionState()
	require.EqualValues(t, tls.VersionTLS13, state.Version)
	ok := c.hello(100, 0)
	require.Equal(t, "node-1", string(ok.NodeID))
	require.EqualValues(t, 100, ok.Credits)
	require.EqualValues(t, 4096, ok.MaxFrame)
	require.EqualValues(t, 16, ok.Partitions)
	c.ping(7)
	c.ping(8)
	c.write(frame.AppendHello(nil, 2, frame.Hello{}))
	c.expectError(frame.CodeBadRequest)
	c.ping(9)
}

func TestTLSHandshakeRequired(t *testing.T) {
	p := newTestPKI(t)
	e := startEnv(t, tlsOptions(p, false), 16)
	c := e.dialTLS(p.clientConfig(nil))
	c.write(frame.AppendPing(nil, 3))
	c.expectError(frame.CodeHandshakeRequired)
	c.expectEOF()
	require.True(t, e.waitClosed().TLS())
}

// TestTLSPublishFramesReachRing sends PUBLISH frames of several sizes,
// written in uneven pieces, and checks each reaches the ring byte for byte.
func TestTLSPublishFramesReachRing(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.MaxFrame = 64 << 10
	opts.MaxInbound = 128 * opts.MaxFrame // credits for all 120 requests
	opts.MaxPipeline = 16 << 20           // all of them in the ring at once
	e := startEnv(t, opts, 1024)
	c := e.dialTLS(p.clientConfig(nil))
	require.EqualValues(t, 128, c.hello(1000, 0).Credits)
	var want [][]byte
	var stream []byte
	for i := 0; i < 120; i++ {
		f := publishFrame(uint64(100+i), (i*997)%(40<<10))
		want = append(want, f)
		stream = append(stream, f...)
	}
	stream = append(stream, frame.AppendPing(nil, 99)...)
	for len(stream) > 0 {
		n := min(len(stream), 1+len(stream)%7919)
		c.write(stream[:n])
		stream = stream[n:]
	}
	require.Equal(t, frame.TypePong, c.read().Type)
	for i, in := range e.pop(len(want)) {
		require.Equal(t, want[i], in.Buf.B, "frame %d", i)
		require.True(t, in.Conn.TLS())
		require.Equal(t, "client-a", in.Conn.ClientID())
		in.Release()
	}
}

func TestTLS12ClientRefused(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.Metrics = metrics.NewSet()
	e := startEnv(t, opts, 16)
	cfg := p.clientConfig(nil)
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	_, err := e.tryDialTLS(cfg)
	require.Error(t, err)
	require.Contains(t, err.Error(), "protocol version")
	e.waitClosed()
	require.EqualValues(t, 1, e.srv.metrics.tlsHandshakeErrors.Get())
	// A TLS 1.3 client is served as usual.
	e.dialTLS(p.clientConfig(nil)).hello(10, 0)
}

func TestTLSMutual(t *testing.T) {
	p := newTestPKI(t)
	e := startEnv(t, tlsOptions(p, true), 16)
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"no-cert", p.clientConfig(nil)},
		{"untrusted-ca", p.clientConfig(p.stranger)},
		{"server-cert-as-client", p.clientConfig(p.node)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.tryDialTLS(tc.cfg)
			if err == nil {
				c.refused()
			}
			e.waitClosed()
		})
	}
	c := e.dialTLS(p.clientConfig(p.client))
	c.hello(10, 0)
	c.ping(1)
	require.EqualValues(t, 3, e.srv.metrics.tlsHandshakeErrors.Get())
}

// TestTLSHandshakeTimeoutBoundsTLS connects over TCP and never starts the
// TLS handshake: HandshakeTimeout closes the connection.
func TestTLSHandshakeTimeoutBoundsTLS(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.HandshakeTimeout = 50 * time.Millisecond
	e := startEnv(t, opts, 16)
	start := time.Now()
	c := e.dial() // plain TCP to the TLS port
	c.expectEOF()
	requireNotEarly(t, start, opts.HandshakeTimeout)
	e.waitClosed()
	require.Zero(t, e.srv.Connections())

	// A completed TLS handshake and no HELLO: HANDSHAKE_TIMEOUT as a frame.
	// The TLS handshake has to finish within the same timeout, and on a
	// loaded machine under -race it can take longer than 50ms (the dial
	// then fails with EOF): a second server with room for it.
	opts.HandshakeTimeout = time.Second
	e = startEnv(t, opts, 16)
	start = time.Now()
	tc := e.dialTLS(p.clientConfig(nil))
	tc.expectError(frame.CodeHandshakeTimeout)
	tc.expectEOF()
	requireNotEarly(t, start, opts.HandshakeTimeout)
}

func TestTLSPlaintextHelloRefused(t *testing.T) {
	p := newTestPKI(t)
	e := startEnv(t, tlsOptions(p, false), 16)
	c := e.dial()
	c.write(frame.AppendHello(nil, 1, frame.Hello{}))
	c.expectEOF()
	e.waitClosed()
}

func TestTLSIdleTimeout(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.IdleTimeout = 50 * time.Millisecond
	e := startEnv(t, opts, 16)
	c := e.dialTLS(p.clientConfig(nil))
	c.hello(10, 0)
	c.expectError(frame.CodeIdleTimeout)
	c.expectEOF()
}

func TestTLSBadBytesCloseOnlyThatConnection(t *testing.T) {
	p := newTestPKI(t)
	e := startEnv(t, tlsOptions(p, false), 16)
	healthy := e.dialTLS(p.clientConfig(nil))
	healthy.hello(10, 0)
	badVersion := frame.AppendPing(nil, 1)
	badVersion[4] = 2
	for _, tc := range []struct {
		name       string
		afterHello bool
		in         []byte
		code       frame.Code
	}{
		{"garbage", true, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), frame.CodeTooLarge},
		{"4GiB", true, []byte{0xff, 0xff, 0xff, 0xff}, frame.CodeTooLarge},
		{"version", true, badVersion, frame.CodeUnsupportedVersion},
		{"before-hello", false, []byte{0, 0, 0, 1}, frame.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialTLS(p.clientConfig(nil))
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

// TestTLSBackpressure fills a ring of capacity 1 from a TLS connection and
// checks that nothing is lost or reordered, and that the reader really
// stops reading while its frame is held back: the bytes it has read never
// exceed what it pushed by more than one read (a gnet connection, which
// cannot stop reading, would buffer up to MaxInbound).
func TestTLSBackpressure(t *testing.T) {
	p := newTestPKI(t)
	e := startEnv(t, tlsOptions(p, false), 1)
	c := e.dialTLS(p.clientConfig(nil))
	c.hello(64, 0)
	const n, payload = 300, 4000
	var want [][]byte
	var stream []byte
	for i := 0; i < n; i++ {
		f := publishFrame(uint64(i), payload)
		want = append(want, f)
		stream = append(stream, f...)
	}
	size := len(want[0])
	var writer graph.Group
	writer.Go("client-writer", func() error {
		_, err := c.nc.Write(stream) // blocks while the server does not read
		return err
	})
	eventually(t, func() bool { return e.ring.Len() == 1 && connHeld(e.srv) }, "the connection to be held back")
	helloLen := len(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("client-a"), Credits: 64}))
	for i := 0; i < n; i++ {
		read := int(e.srv.metrics.bytesIn.Get())
		pushed := i + e.ring.Len()
		require.LessOrEqual(t, read, helloLen+pushed*size+size+tlsReadChunk,
			"frame %d: the reader read on while held back", i)
		in := e.pop(1)[0]
		require.Equal(t, want[i], in.Buf.B, "frame %d", i)
		// Answered, so the client, which writes all at once, stays within
		// its credits: the ring alone holds it back.
		require.NoError(t, in.Conn.Send(frame.AppendAckOK(nil, uint64(i), 0)))
		in.Release()
	}
	require.NoError(t, writer.Wait())
	for i := 0; i < n; i++ {
		require.Equal(t, frame.TypeAckOK, c.read().Type)
	}
	c.ping(77)
	require.Zero(t, e.ring.Len())
}

func TestTLSSlowReaderClosed(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.MaxFrame = 64 << 10
	opts.MaxOutbound = 256 << 10
	e := startEnv(t, opts, 16)
	c := e.dialTLS(p.clientConfig(nil))
	c.hello(10, 0)
	c.write(fetchFrame(5, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()

	// The client never reads: kernel buffers fill (tens of MiB on
	// loopback), then the writer blocks on the socket. Each reply waits
	// for the writer to take the one before; while it cannot, the node
	// keeps sending, as it would to a client that stopped reading, until
	// the queue passes MaxOutbound.
	reply := frame.AppendPong(nil, 1)
	reply = append(reply, make([]byte, 32<<10)...)
	frame.PatchLength(reply, 0)
	sent := 0
	send := func() error {
		err := conn.Send(reply)
		if err == nil {
			sent++
		}
		return err
	}
	var sendErr error
	for sendErr == nil {
		sendErr = send()
		eventually(t, func() bool {
			if sendErr != nil || !conn.queued() {
				return true
			}
			sendErr = send()
			return false
		}, "the writer to take the queue, or Send to fail")
	}
	require.ErrorIs(t, sendErr, ErrSlowConsumer)
	require.Same(t, conn, e.waitClosed())
	t.Logf("sent %d KiB before SLOW_CONSUMER", sent*len(reply)>>10)
}

func TestTLSStopDrainsQueuedWrites(t *testing.T) {
	p := newTestPKI(t)
	e := startEnv(t, tlsOptions(p, false), 16)
	c := e.dialTLS(p.clientConfig(nil))
	c.hello(10, 0)
	c.write(fetchFrame(5, "g"))
	in := e.pop(1)[0]
	conn := in.Conn
	in.Release()

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

func TestTLSStopReadingRejectsNewConnections(t *testing.T) {
	p := newTestPKI(t)
	e := startEnv(t, tlsOptions(p, false), 16)
	old := e.dialTLS(p.clientConfig(nil))
	old.hello(10, 0)
	e.srv.StopReading()
	fresh := e.dialTLS(p.clientConfig(nil))
	fresh.expectError(frame.CodeShuttingDown)
	fresh.expectEOF()
	conn := e.srv.snapshotConns()[0]
	require.NoError(t, conn.Send(frame.AppendPong(nil, 3)))
	require.EqualValues(t, 3, old.read().Corr)
}

// TestTLSStopClosesHandshakingConnections: Stop does not wait for a
// connection stuck in its TLS handshake.
func TestTLSStopClosesHandshakingConnections(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.HandshakeTimeout = time.Hour
	e := startEnv(t, opts, 16)
	c := e.dial()
	eventually(t, func() bool { return e.srv.Connections() == 1 }, "the connection to be accepted")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, e.srv.Stop(ctx))
	c.expectEOF()
}

// TestConnLimitAcrossTransports serves TLS at Addr and plaintext at
// PlainAddr, with room for two connections in all.
func TestConnLimitAcrossTransports(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.PlainAddr = "127.0.0.1:0"
	opts.MaxConns = 2
	e := startEnv(t, opts, 16)
	secure := e.dialTLS(p.clientConfig(nil))
	secure.hello(10, 0)
	plain := e.dialPlain()
	plain.hello(10, 0)

	extraPlain := e.dialPlain()
	extraPlain.expectError(frame.CodeTooManyConnections)
	extraPlain.expectEOF()
	extraTLS := e.dialTLS(p.clientConfig(nil))
	extraTLS.expectError(frame.CodeTooManyConnections)
	extraTLS.expectEOF()

	secure.ping(1)
	plain.ping(2)
	require.NoError(t, secure.nc.Close())
	require.True(t, e.waitClosed().TLS())
	again := e.dialPlain()
	again.hello(10, 0)
	require.NoError(t, plain.nc.Close())
	require.False(t, e.waitClosed().TLS())
	e.dialTLS(p.clientConfig(nil)).hello(10, 0)
}

func TestPlainAddrAlongsideTLS(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.PlainAddr = "127.0.0.1:0"
	opts.Metrics = metrics.NewSet()
	e := startEnv(t, opts, 16)
	require.NotNil(t, e.srv.PlainAddr())
	require.NotEqual(t, e.srv.Addr().String(), e.srv.PlainAddr().String())
	secure := e.dialTLS(p.clientConfig(nil))
	plain := e.dialPlain()
	secure.hello(10, 0)
	plain.hello(10, 0)
	secure.write(fetchFrame(1, "tls"))
	plain.write(fetchFrame(2, "plain"))
	got := map[uint64]bool{}
	for _, in := range e.pop(2) {
		f, err := in.Frame()
		require.NoError(t, err)
		got[f.Corr] = in.Conn.TLS()
		require.NoError(t, in.Conn.Send(frame.AppendPong(nil, f.Corr)))
		in.Release()
	}
	require.Equal(t, map[uint64]bool{1: true, 2: false}, got)
	require.EqualValues(t, 1, secure.read().Corr)
	require.EqualValues(t, 2, plain.read().Corr)

	var buf bytes.Buffer
	opts.Metrics.WritePrometheus(&buf)
	for _, want := range []string{
		"swarmmq_netio_connections 2",
		"swarmmq_netio_accepted_total 2",
		"swarmmq_netio_frames_in_total 4",
		"swarmmq_netio_tls_handshake_errors_total 0",
	} {
		require.Contains(t, buf.String(), want)
	}
}

func TestTLSOptions(t *testing.T) {
	p := newTestPKI(t)
	o := testOptions()
	o.PlainAddr = "127.0.0.1:0"
	require.ErrorContains(t, o.EnsureDefaults().Validate(), "plain addr")

	o = testOptions()
	o.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
	o.PlainAddr = "nonsense"
	err := o.EnsureDefaults().Validate()
	for _, want := range []string{"max version", "no certificate", "plain addr"} {
		require.ErrorContains(t, err, want)
	}

	// MinVersion is raised to TLS 1.3 on the server's own copy.
	o = tlsOptions(p, false)
	o.TLS.MinVersion = tls.VersionTLS10
	s, err := New(o, graph.NewRing[Inbound](1))
	require.NoError(t, err)
	require.EqualValues(t, tls.VersionTLS13, s.opts.TLS.MinVersion)
	require.EqualValues(t, tls.VersionTLS10, o.TLS.MinVersion, "the caller's config is not changed")
	require.NoError(t, s.Stop(context.Background()))

	// Also for the configs a GetConfigForClient hands out.
	o = testOptions()
	inner := p.serverConfig(false)
	inner.MinVersion = tls.VersionTLS12
	o.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return inner, nil }}
	e := startEnv(t, o, 16)
	cfg := p.clientConfig(nil)
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	_, err = e.tryDialTLS(cfg)
	require.ErrorContains(t, err, "protocol version")
	e.dialTLS(p.clientConfig(nil)).hello(10, 0)
	require.EqualValues(t, tls.VersionTLS12, inner.MinVersion, "the caller's config is not changed")
}

func TestTLSListenFailure(t *testing.T) {
	p := newTestPKI(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = taken.Close() }()
	ring := graph.NewRing[Inbound](1)

	o := tlsOptions(p, false)
	o.Addr = taken.Addr().String()
	s, err := New(o, ring)
	require.NoError(t, err)
	require.Error(t, s.Start())
	require.NoError(t, s.Stop(context.Background()))

	// The TLS listener is closed again when the plaintext one fails.
	o = tlsOptions(p, false)
	o.PlainAddr = taken.Addr().String()
	s, err = New(o, ring)
	require.NoError(t, err)
	require.Error(t, s.Start())
	require.NoError(t, s.Stop(context.Background()))
}

// TestServerTLSConfigEndToEnd loads both sides from PEM files, as a node
// and the client library will, and serves mutual TLS.
func TestServerTLSConfigEndToEnd(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	path := func(name string) string { return dir + "/" + name }
	require.NoError(t, p.ca.WriteFiles(path("ca.pem"), path("ca-key.pem")))
	require.NoError(t, p.node.WriteFiles(path("node.pem"), path("node-key.pem")))
	require.NoError(t, p.client.WriteFiles(path("client.pem"), path("client-key.pem")))
	cfg, err := ServerTLSConfig(path("node.pem"), path("node-key.pem"), path("ca.pem"), true)
	require.NoError(t, err)
	opts := testOptions()
	opts.TLS = cfg
	e := startEnv(t, opts, 16)

	// No ServerName: tls.Dialer verifies the address dialled, 127.0.0.1.
	cli, err := tlsconf.Client(path("ca.pem"), path("client.pem"), path("client-key.pem"), "")
	require.NoError(t, err)
	c := e.dialTLS(cli)
	c.hello(10, 0)
	c.ping(1)

	anon, err := tlsconf.Client(path("ca.pem"), "", "", "")
	require.NoError(t, err)
	if c, err := e.tryDialTLS(anon); err == nil {
		c.refused()
	}
}

// TestTLSPenalizedRefusalHeld: over TLS too, the refusal of a penalized
// address is held (before the TLS handshake, which is what costs the
// node), then answered with TOO_MANY_CONNECTIONS.
func TestTLSPenalizedRefusalHeld(t *testing.T) {
	p := newTestPKI(t)
	opts := tlsOptions(p, false)
	opts.PlainAddr = "127.0.0.1:0"
	opts.FlowControlPenalty = time.Minute
	e := startEnv(t, opts, 64)
	c := e.dialPlain()
	require.EqualValues(t, 2, c.hello(2, 0).Credits)
	c.write(append(append(fetchFrame(1, "g"), fetchFrame(2, "g")...), fetchFrame(3, "g")...))
	_, f := c.readUntilError()
	code, _, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeFlowControl, code)

	start := time.Now()
	secure := e.dialTLS(p.clientConfig(nil))
	secure.expectError(frame.CodeTooManyConnections)
	require.GreaterOrEqual(t, time.Since(start), refuseHold, "answered before its hold")
	secure.expectEOF()
	require.EqualValues(t, 1, e.srv.metrics.penalizedRefused.Get())
}
