package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/test/netproxy"
)

func TestTwoNodesExchange(t *testing.T) {
	ns := cluster(t, 2)
	sendUntil(t, ns[0], ns[1], "node-2", "a")
	sendUntil(t, ns[1], ns[0], "node-1", "b")
	for i := range 100 {
		require.NoError(t, ns[0].t.Send("node-2", frame.TypeRaft, fmt.Appendf(nil, "m%d", i)))
	}
	eventually(t, "100 frames in order", func() bool { return ns[1].rec.has("node-1:m99") })
	ns[1].rec.mu.Lock()
	tail := ns[1].rec.frames[len(ns[1].rec.frames)-100:]
	ns[1].rec.mu.Unlock()
	for i, f := range tail {
		require.Equal(t, fmt.Sprintf("node-1:m%d", i), f)
	}
	require.Positive(t, metric(ns[0].set, `swarmmq_peer_sent_frames_total{peer="node-2"}`))
	require.Positive(t, metric(ns[1].set, `swarmmq_peer_received_bytes_total{peer="node-1"}`))
	require.Equal(t, 1.0, metric(ns[0].set, `swarmmq_peer_connected{peer="node-2"}`))
	require.InDelta(t, float64(time.Now().Unix()), metric(ns[1].set, `swarmmq_peer_last_contact_seconds{peer="node-1"}`), 5)
	require.ErrorIs(t, ns[0].t.Send("node-9", frame.TypeRaft, nil), ErrUnknownPeer)
	require.ErrorIs(t, ns[0].t.Send("node-2", frame.TypeRequest, nil), ErrBadType)
	require.ErrorIs(t, ns[0].t.Send("node-2", frame.TypeRaft, make([]byte, DefaultMaxFrame)), ErrTooLarge)
}

func TestThreeNodesAllPairs(t *testing.T) {
	ns := cluster(t, 3)
	for i, from := range ns {
		for j, to := range ns {
			if i != j {
				sendUntil(t, from, to, fmt.Sprintf("node-%d", j+1), fmt.Sprintf("%d->%d", i+1, j+1))
			}
		}
	}
	for _, n := range ns {
		for _, s := range n.t.Peers() {
			require.True(t, s.Connected, "%s -> %s", n.t.opts.ID, s.ID)
		}
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	for _, restart := range []string{"node-1", "node-2"} { // the dialling and the accepting side
		t.Run("restart="+restart, func(t *testing.T) {
			ns := cluster(t, 2)
			sendUntil(t, ns[0], ns[1], "node-2", "before")
			i := map[string]int{"node-1": 0, "node-2": 1}[restart]
			other := ns[1-i]
			opts := ns[i].t.opts
			addr := ns[i].t.Addr().String()
			require.NoError(t, ns[i].t.Close())
			otherID := other.t.opts.ID
			eventually(t, "link down", func() bool { return !other.connected(restart) })
			opts.Listener, opts.ListenAddr = nil, addr
			began := time.Now()
			ns[i] = start(t, opts)
			sendUntil(t, other, ns[i], restart, "after")
			t.Logf("link back %v after the restart", time.Since(began))
			sendUntil(t, ns[i], other, otherID, "back")
			require.EqualValues(t, 1, other.status(restart).Reconnects)
			require.Equal(t, 1.0, metric(other.set, `swarmmq_peer_reconnects_total{peer="`+restart+`"}`))
		})
	}
}

// proxied starts node-1 and node-2 with node-1 dialling node-2 through a
// netproxy.
func proxied(t *testing.T) (*node, *node, *netproxy.Proxy) {
	ln1, ln2 := listen(t), listen(t)
	p, err := netproxy.New(ln2.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	n2 := start(t, testOptions("node-2", ln2, map[string]string{"node-1": ln1.Addr().String()}))
	n1 := start(t, testOptions("node-1", ln1, map[string]string{"node-2": p.Addr()}))
	return n1, n2, p
}

func TestReconnectAfterCut(t *testing.T) {
	for _, mode := range []netproxy.Mode{netproxy.Reset, netproxy.Blackhole} {
		t.Run("mode="+mode.String(), func(t *testing.T) {
			n1, n2, p := proxied(t)
			sendUntil(t, n1, n2, "node-2", "before")
			p.Cut(mode)
			cut := time.Now()
			// Enough to fill the socket buffers behind a blackhole, so that
			// node-1's writer blocks.
			for range 4096 {
				_ = n1.t.Send("node-2", frame.TypeRaft, make([]byte, 1024))
			}
			// A blackhole is seen by the idle timeout: no PONG comes back.
			eventually(t, "node-1 sees the link down", func() bool { return !n1.connected("node-2") })
			t.Logf("node-1 saw the link down %v after the cut", time.Since(cut))
			eventually(t, "node-2 sees the link down", func() bool { return !n2.connected("node-1") })
			require.ErrorIs(t, n1.t.Send("node-2", frame.TypeRaft, []byte("x")), ErrNotConnected)
			began := time.Now()
			p.Heal()
			sendUntil(t, n1, n2, "node-2", "after")
			t.Logf("link back %v after the heal", time.Since(began))
			sendUntil(t, n2, n1, "node-1", "back")
			require.Positive(t, metric(n1.set, `swarmmq_peer_dropped_frames_total{peer="node-2"}`))
		})
	}
}

func TestHandshakeRefused(t *testing.T) {
	cases := []struct {
		name   string
		change func(o *Options)
		reason string
	}{
		{"cluster", func(o *Options) { o.ClusterName = "other" }, `cluster name "other" is not this cluster's "test"`},
		{"partitions", func(o *Options) { o.Partitions = 32 }, "partition count 32 is not this cluster's 16"},
		{"unknown-id", func(o *Options) { o.ID = "node-0" }, `node id "node-0" is not in this node's cluster configuration`},
		{"own-id", func(o *Options) { o.ID = "node-2" }, `node "node-2" claims this node's own id`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln1, ln2 := listen(t), listen(t)
			n2 := start(t, testOptions("node-2", ln2, map[string]string{"node-1": ln1.Addr().String()}))
			opts := testOptions("node-1", ln1, map[string]string{"node-2": ln2.Addr().String()})
			c.change(&opts)
			if opts.ID == "node-2" { // dial node-2 from a second "node-2": make it think it dials node-3
				opts.Peers = map[string]string{"node-3": ln2.Addr().String()}
				opts.ID = "node-2"
			}
			n1 := start(t, opts)
			eventually(t, "refusal logged on the accepting side", func() bool {
				return strings.Contains(n2.log.String(), "refused peer link")
			})
			require.Contains(t, strings.ReplaceAll(n2.log.String(), `\"`, `"`), c.reason)
			var peerID string
			for id := range opts.Peers {
				peerID = id
			}
			eventually(t, "refusal seen by the dialling side", func() bool { return n1.status(peerID).LastError != nil })
			err := n1.status(peerID).LastError
			require.ErrorIs(t, err, ErrRefused)
			require.Equal(t, frame.CodePeerRefused, frame.CodeOf(err))
			require.Contains(t, err.Error(), c.reason)
			eventually(t, "refusal logged on the dialling side", func() bool {
				return strings.Contains(n1.log.String(), "cannot link to peer")
			})
			require.False(t, n2.connected("node-1"))
			require.Positive(t, metric(n2.set, "swarmmq_peer_handshakes_refused_total"))
		})
	}
}

// rawHello dials addr, sends one frame and returns the first frame back.
func rawHello(t *testing.T, addr string, hello []byte) frame.Frame {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Write(hello)
	require.NoError(t, err)
	f, _, err := newFrameReader(c, DefaultMaxFrame).next()
	require.NoError(t, err)
	return f
}

func TestRefusedRawHello(t *testing.T) {
	ln1 := listen(t)
	n1 := start(t, testOptions("node-1", ln1, map[string]string{"node-2": "127.0.0.1:1"}))
	addr := n1.t.Addr().String()
	hello := func(from, to string) []byte {
		return frame.AppendPeerHello(nil, 1, frame.PeerHello{Cluster: []byte("test"), NodeID: []byte(from),
			To: []byte(to), Partitions: 16, MaxFrame: DefaultMaxFrame})
	}
	cases := []struct {
		name string
		in   []byte
		code frame.Code
		msg  string
	}{
		// node-2 must not dial node-1: the lower id dials.
		{"wrong-dialler", hello("node-2", "node-1"), frame.CodePeerRefused, "the node with the lower id dials"},
		{"wrong-target", hello("node-2", "node-7"), frame.CodePeerRefused, `dialled node "node-7" but reached node "node-1"`},
		{"not-hello", frame.AppendPing(nil, 1), frame.CodeHandshakeRequired, "expected PEER_HELLO, got PING"},
		{"client-hello", frame.AppendHello(nil, 1, frame.Hello{}), frame.CodeUnknownType, "unknown frame type"},
		{"malformed", frame.AppendPeerFrame(nil, frame.TypePeerHello, 1, []byte{0, 9}), frame.CodeMalformed, "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := rawHello(t, addr, c.in)
			require.Equal(t, frame.TypeError, f.Type)
			code, msg, err := frame.DecodeError(f.Body)
			require.NoError(t, err)
			require.Equal(t, c.code, code, "%s", msg)
			require.Contains(t, string(msg), c.msg)
		})
	}
	require.Contains(t, strings.ReplaceAll(n1.log.String(), `\"`, `"`), "the node with the lower id dials")
}

func TestQueueFullDropsWithoutBlocking(t *testing.T) {
	ln1, ln2 := listen(t), listen(t)
	peers := map[string]string{"node-1": ln1.Addr().String(), "node-2": ln2.Addr().String()}
	n2opts := testOptions("node-2", ln2, peers)
	n2opts.IdleTimeout = 10 * time.Second // node-2 stops reading; keep the link
	n2 := start(t, n2opts)
	o1 := testOptions("node-1", ln1, peers)
	o1.QueueBytes, o1.MaxFrame = 64<<10, 4096
	o1.IdleTimeout = 10 * time.Second
	n1 := start(t, o1)
	sendUntil(t, n1, n2, "node-2", "up")
	block := make(chan struct{})
	n2.rec.mu.Lock()
	n2.rec.block = block
	n2.rec.mu.Unlock()
	payload := make([]byte, 1024)
	var full, sent int
	for full == 0 || sent < 10000 { // far beyond the socket buffers and the queue
		switch err := n1.t.Send("node-2", frame.TypeRaft, payload); {
		case err == nil:
		case errors.Is(err, ErrQueueFull):
			full++
		default:
			t.Fatal(err)
		}
		sent++
	}
	require.Positive(t, full)
	require.GreaterOrEqual(t, metric(n1.set, `swarmmq_peer_dropped_frames_total{peer="node-2"}`), float64(full))
	require.LessOrEqual(t, metric(n1.set, `swarmmq_peer_queued_bytes{peer="node-2"}`), float64(64<<10))
	t.Logf("%d of %d sends dropped while the peer did not read", full, sent)
	close(block)
}

func TestCall(t *testing.T) {
	ns := cluster(t, 2)
	sendUntil(t, ns[0], ns[1], "node-2", "up")
	got, err := ns[0].t.Call(callCtx(t, 5*time.Second), "node-2", []byte("q"))
	require.NoError(t, err)
	require.Equal(t, "re:q", string(got))
	got, err = ns[1].t.Call(context.Background(), "node-1", []byte("back"))
	require.NoError(t, err)
	require.Equal(t, "re:back", string(got))
	_, err = ns[0].t.Call(callCtx(t, 5*time.Second), "node-2", []byte("fail"))
	require.Equal(t, frame.CodeStorage, frame.CodeOf(err))
	require.Contains(t, err.Error(), "cannot store")
}

func TestCallTimeout(t *testing.T) {
	ns := cluster(t, 2)
	sendUntil(t, ns[0], ns[1], "node-2", "up")
	_, err := ns[0].t.Call(callCtx(t, 100*time.Millisecond), "node-2", []byte("hold"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// The late answer is dropped by the caller's side, and the link lives on.
	ns[1].rec.mu.Lock()
	late := ns[1].rec.held[0]
	ns[1].rec.mu.Unlock()
	require.NoError(t, late.Reply([]byte("late")))
	got, err := ns[0].t.Call(callCtx(t, 5*time.Second), "node-2", []byte("next"))
	require.NoError(t, err)
	require.Equal(t, "re:next", string(got))
}

func TestCallPeerDiesMidRequest(t *testing.T) {
	ns := cluster(t, 2)
	sendUntil(t, ns[0], ns[1], "node-2", "up")
	errc := make(chan error, 1)
	go func() {
		_, err := ns[0].t.Call(callCtx(t, time.Minute), "node-2", []byte("hold"))
		errc <- err
	}()
	eventually(t, "request held", func() bool {
		ns[1].rec.mu.Lock()
		defer ns[1].rec.mu.Unlock()
		return len(ns[1].rec.held) == 1
	})
	require.NoError(t, ns[1].t.Close())
	err := <-errc // long before the minute
	require.ErrorIs(t, err, ErrConnLost)
	_, err = ns[0].t.Call(callCtx(t, time.Minute), "node-2", []byte("q"))
	require.ErrorIs(t, err, ErrNotConnected)
	// The held Responder of the closed transport drops its answer.
	ns[1].rec.mu.Lock()
	held := ns[1].rec.held[0]
	ns[1].rec.mu.Unlock()
	require.ErrorIs(t, held.Reply([]byte("x")), ErrNotConnected)
}

func TestBackoff(t *testing.T) {
	lo, hi := 50*time.Millisecond, time.Second
	require.Equal(t, 25*time.Millisecond, backoff(0, lo, hi, 0))
	require.Equal(t, 50*time.Millisecond-1, backoff(0, lo, hi, 0.99999999999))
	require.Equal(t, 150*time.Millisecond, backoff(2, lo, hi, 0.5)) // 200ms: half, plus half of the other half
	require.Equal(t, hi/2, backoff(5, lo, hi, 0))                   // 1.6s capped at 1s
	require.Equal(t, hi/2, backoff(64, lo, hi, 0))
	require.Equal(t, hi/2, backoff(40, lo, hi, 0))
}

func TestOptionsValidate(t *testing.T) {
	var o Options
	o.EnsureDefaults()
	err := o.Validate()
	for _, want := range []string{"ID is required", "ClusterName is required", "Partitions", "ListenAddr or Listener", "Handler"} {
		require.ErrorContains(t, err, want)
	}
}

func TestClosedTransport(t *testing.T) {
	ns := cluster(t, 2)
	require.NoError(t, ns[0].t.Close())
	require.NoError(t, ns[0].t.Close()) // twice
	require.ErrorIs(t, ns[0].t.Send("node-2", frame.TypeRaft, nil), ErrClosed)
	_, err := ns[0].t.Call(context.Background(), "node-2", nil)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, ns[0].t.Start(), ErrClosed)
}

func TestMaxFrameIsTheSmaller(t *testing.T) {
	ln1, ln2 := listen(t), listen(t)
	peers := map[string]string{"node-1": ln1.Addr().String(), "node-2": ln2.Addr().String()}
	o1 := testOptions("node-1", ln1, peers)
	o1.MaxFrame = 8192
	n1 := start(t, o1)
	n2 := start(t, testOptions("node-2", ln2, peers))
	sendUntil(t, n2, n1, "node-1", "up")
	require.ErrorIs(t, n2.t.Send("node-1", frame.TypeRaft, make([]byte, 8192-frame.HeaderSize+1)), ErrTooLarge)
	big := string(make([]byte, 8192-frame.HeaderSize))
	sendUntil(t, n2, n1, "node-1", big)
}

// TestBadFrameClosesThatLinkOnly: a peer that breaks the protocol after
// the handshake gets an ERROR and loses its link; node-2's link to node-3
// carries on.
func TestBadFrameClosesThatLinkOnly(t *testing.T) {
	ln2, ln3 := listen(t), listen(t)
	peers := map[string]string{"node-1": "127.0.0.1:1", "node-2": ln2.Addr().String(), "node-3": ln3.Addr().String()}
	n2 := start(t, testOptions("node-2", ln2, peers))
	n3 := start(t, testOptions("node-3", ln3, peers))
	sendUntil(t, n2, n3, "node-3", "up")

	c, err := net.Dial("tcp", n2.t.Addr().String())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Write(frame.AppendPeerHello(nil, 1, frame.PeerHello{Cluster: []byte("test"), NodeID: []byte("node-1"),
		To: []byte("node-2"), Partitions: 16, MaxFrame: DefaultMaxFrame}))
	require.NoError(t, err)
	fr := newFrameReader(c, DefaultMaxFrame)
	f, _, err := fr.next()
	require.NoError(t, err)
	require.Equal(t, frame.TypePeerHelloOK, f.Type)
	eventually(t, "node-2 linked to the raw node-1", func() bool { return n2.connected("node-1") })
	ping := frame.AppendPing(nil, 5)
	_, err = c.Write(ping[:7]) // a PING in two writes …
	require.NoError(t, err)
	_, err = c.Write(ping[7:])
	require.NoError(t, err)
	_, err = c.Write(frame.AppendHello(nil, 6, frame.Hello{})) // … then a client type
	require.NoError(t, err)
	sawPong := false
	for {
		f, _, err = fr.next()
		require.NoError(t, err)
		sawPong = sawPong || f.Type == frame.TypePong && f.Corr == 5
		if f.Type == frame.TypeError {
			break
		}
	}
	require.True(t, sawPong, "the split PING was answered")
	code, msg, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeUnknownType, code, "%s", msg)
	_, _, err = fr.next()
	require.Error(t, err) // closed
	eventually(t, "node-2 drops the link", func() bool { return !n2.connected("node-1") })
	sendUntil(t, n2, n3, "node-3", "still")
	sendUntil(t, n3, n2, "node-2", "still")
}

// TestDuplicateIDRefused: a second process claiming node-1 while node-1's
// link is alive is refused on both sides, and the live link stays up; once
// the first node-1 is gone, the second one links.
func TestDuplicateIDRefused(t *testing.T) {
	ns := cluster(t, 2)
	sendUntil(t, ns[0], ns[1], "node-2", "up")
	opts := ns[0].t.opts
	opts.Listener, opts.ListenAddr = listen(t), ""
	twin := start(t, opts)
	eventually(t, "the twin refused", func() bool { return twin.status("node-2").LastError != nil })
	err := twin.status("node-2").LastError
	require.Equal(t, frame.CodePeerRefused, frame.CodeOf(err))
	require.Contains(t, err.Error(), "a second node with the same id")
	eventually(t, "refusal logged by node-2", func() bool {
		return strings.Contains(ns[1].log.String(), "a second node with the same id")
	})
	sendUntil(t, ns[0], ns[1], "node-2", "still the first")
	require.Zero(t, ns[1].status("node-1").Reconnects)
	require.NoError(t, ns[0].t.Close())
	eventually(t, "the twin linked", func() bool { return twin.connected("node-2") })
}

// TestDelayedLink: with 40 ms added each way, a call still succeeds and
// takes at least the round trip the proxy adds.
func TestDelayedLink(t *testing.T) {
	n1, n2, p := proxied(t)
	sendUntil(t, n1, n2, "node-2", "up")
	p.Delay(40*time.Millisecond, 40*time.Millisecond)
	began := time.Now()
	got, err := n1.t.Call(callCtx(t, 5*time.Second), "node-2", []byte("slow"))
	require.NoError(t, err)
	require.Equal(t, "re:slow", string(got))
	require.GreaterOrEqual(t, time.Since(began), 80*time.Millisecond)
	p.Delay(0, 0)
	sendUntil(t, n2, n1, "node-1", "fast again")
	require.True(t, n1.connected("node-2"))
}
