package forward

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/netio/promtext"
	"github.com/swarmmq/swarmmq/stages/work"
)

var _ Responder = peer.Responder{}

// leaderHandler is the leader's peer handler: REQUESTs go to the Server.
type leaderHandler struct{ srv *Server }

func (h leaderHandler) HandleFrame(string, frame.Type, []byte) {}
func (h leaderHandler) HandleRequest(from string, payload []byte, r peer.Responder) {
	h.srv.Handle(from, payload, r)
}

// TestOverPeerLinks forwards a FETCH from n1 to n2 over real peer links.
func TestOverPeerLinks(t *testing.T) {
	lns := map[string]net.Listener{}
	addrs := map[string]string{}
	for _, id := range []string{"n1", "n2"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id], addrs[id] = ln, ln.Addr().String()
	}
	ring := graph.NewRing[netio.Inbound](4)
	srv := NewServer(ServerOptions{}, ring)
	transports := map[string]*peer.Transport{}
	for id, h := range map[string]peer.Handler{"n1": leaderHandler{}, "n2": leaderHandler{srv}} {
		tr, err := peer.New(peer.Options{ID: id, ClusterName: "c", Partitions: 4, Peers: addrs,
			Listener: lns[id], Handler: h})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(); err != nil {
			t.Fatal(err)
		}
		transports[id] = tr
	}
	f := newForwarder(t, transports["n1"].Call, "n2", nil)
	defer func() {
		_ = srv.Stop(context.Background())
		for _, tr := range transports {
			_ = tr.Close()
		}
	}()

	waitLinked(t, transports["n1"])
	c := newClient()
	raw := frame.AppendFetch(nil, 21, frame.Fetch{Destination: []byte("d"), Group: []byte("g"), Max: 1})
	if !f.Forward(request(c, work.KindFetch, 0, raw)) {
		t.Fatal("declined")
	}
	in := pop(t, ring)
	msgs := frame.StartMessages(nil, 21)
	frame.FinishMessages(msgs, 0, 0)
	if err := in[0].Replier().Send(msgs); err != nil {
		t.Fatal(err)
	}
	in[0].Release()
	if got := c.reply(t); got.Type != frame.TypeMessages || got.Corr != 21 {
		t.Fatalf("client got %s corr %d", got.Type, got.Corr)
	}
}

// waitLinked waits until every link of tr is up.
func waitLinked(t *testing.T, tr *peer.Transport) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		up := true
		for _, st := range tr.Peers() {
			up = up && st.Connected
		}
		if up {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("links not up: %+v", tr.Peers())
		}
	}
}

// TestClusterFamilies: every family the peer links and forwarding expose
// is in promtext's cluster table (so /metrics gives it HELP and TYPE, and
// docs/metrics.md's check knows it is a cluster family).
func TestClusterFamilies(t *testing.T) {
	set := metrics.NewSet()
	tr, err := peer.New(peer.Options{ID: "n1", ClusterName: "c", Partitions: 4,
		Peers: map[string]string{"n2": "127.0.0.1:1"}, ListenAddr: "127.0.0.1:0", Handler: leaderHandler{}, Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Close() }()
	f, err := New(Options{Self: "n1", Leader: func(uint32) (string, bool) { return "", false }, Call: tr.Call, Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Stop(context.Background()) }()
	NewServer(ServerOptions{Metrics: set}, graph.NewRing[netio.Inbound](1))
	var b bytes.Buffer
	set.WritePrometheus(&b)
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		seen[promtext.FamilyOf(name)] = true
	}
	for name := range seen {
		if !promtext.ClusterOnly(name) {
			t.Errorf("%s is not in promtext's cluster table", name)
		}
	}
	if len(seen) < 13 {
		t.Errorf("only %d families seen: %v", len(seen), seen)
	}
}
