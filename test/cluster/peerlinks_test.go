package cluster

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/test/netproxy"
)

// quiet is a peer.Handler that ignores frames and answers nothing.
type quiet struct{}

func (quiet) HandleFrame(string, frame.Type, []byte)       {}
func (quiet) HandleRequest(string, []byte, peer.Responder) {}

// TestPeerLinksThroughTheProxies runs the node-to-node transport
// (cluster/peer) of three nodes over the harness's links, each node
// dialling the others at the addresses its generated config gives them,
// and checks that the transport sees exactly what the harness does: a
// blackholed isolation takes down both links of the isolated node (by the
// idle timeout) and not the third, a reset cut the one link it names, and
// every link comes back after the heal.
func TestPeerLinksThroughTheProxies(t *testing.T) {
	c := &Cluster{Dir: t.TempDir(), opts: Options{Nodes: 3, Cluster: &ClusterSpec{}}}
	c.opts.Cluster.ensureDefaults(3)
	specs, _, err := c.layout()
	defer c.closeLinks()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		c.Nodes = append(c.Nodes, &Node{Spec: s})
	}
	ts := map[string]*peer.Transport{}
	for _, s := range specs {
		ln, err := net.Listen("tcp", s.PeerAddr)
		if err != nil {
			t.Fatal(err)
		}
		peers := map[string]string{s.ID: s.PeerAddr}
		for _, o := range specs {
			if o.ID != s.ID {
				peers[o.ID] = c.Link(s.ID, o.ID).Addr()
			}
		}
		tr, err := peer.New(peer.Options{ID: s.ID, ClusterName: c.opts.Cluster.Name, Partitions: uint32(c.opts.Cluster.Partitions),
			Peers: peers, Listener: ln, Handler: quiet{},
			BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond, Heartbeat: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tr.Close() }()
		ts[s.ID] = tr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// await waits until every node sees each link up or down as want says
	// (a pair listed in down is down, every other one up).
	await := func(what string, down ...[2]string) {
		t.Helper()
		isDown := func(a, b string) bool {
			for _, d := range down {
				if (d[0] == a && d[1] == b) || (d[0] == b && d[1] == a) {
					return true
				}
			}
			return false
		}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			ok := true
			for id, tr := range ts {
				for _, st := range tr.Peers() {
					if st.ID != id && st.Connected == isDown(id, st.ID) {
						ok = false
					}
				}
			}
			if ok {
				return
			}
			select {
			case <-ctx.Done():
				for id, tr := range ts {
					t.Logf("%s sees %+v", id, tr.Peers())
				}
				t.Fatalf("%s: links not as expected (down: %v)", what, down)
			case <-tick.C:
			}
		}
	}
	await("start")
	if err := c.Isolate("node-3", netproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	await("node-3 isolated", [2]string{"node-1", "node-3"}, [2]string{"node-2", "node-3"})
	if err := c.Rejoin("node-3"); err != nil {
		t.Fatal(err)
	}
	await("node-3 back")
	if err := c.Cut("node-1", "node-2", netproxy.Reset); err != nil {
		t.Fatal(err)
	}
	await("node-1 and node-2 cut", [2]string{"node-1", "node-2"})
	if err := c.Heal("node-1", "node-2"); err != nil {
		t.Fatal(err)
	}
	await("healed")
}
