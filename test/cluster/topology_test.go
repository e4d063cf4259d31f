package cluster

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/conf"
	"github.com/swarmmq/swarmmq/test/netproxy"
)

// fiveSpecs returns the specs of a five-node cluster on fixed addresses.
func fiveSpecs() []NodeSpec {
	var specs []NodeSpec
	for i := range 5 {
		port := func(base int) string { return "127.0.0.1:" + strconv.Itoa(base+i) }
		specs = append(specs, NodeSpec{ID: nodeID(i), ClientAddr: port(19001), PeerAddr: port(19101), HTTPAddr: port(18081)})
	}
	return specs
}

// TestConfigYAMLIsTheNodesCluster: every node's generated file is a valid
// cluster config for the node (conf.LoadNode, as the node reads it), in
// which the node listens on its own peer address and reaches every other
// node through the proxy of that link.
func TestConfigYAMLIsTheNodesCluster(t *testing.T) {
	specs := fiveSpecs()
	spec := ClusterSpec{}
	spec.ensureDefaults(len(specs))
	via := func(self, j int) string { return "127.0.0.1:" + strconv.Itoa(20000+10*self+j) }
	dir := t.TempDir()
	for self, s := range specs {
		path := filepath.Join(dir, s.ID+".yaml")
		if err := os.WriteFile(path, spec.ConfigYAML(specs, self, func(j int) string { return via(self, j) }), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := conf.LoadNode(conf.NodeFlags{Config: path, NodeID: s.ID})
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		m := cfg.Membership()
		if m.Name != DefaultClusterName || m.Partitions != DefaultClusterPartitions || m.ReplicationFactor != 3 {
			t.Fatalf("%s: membership %+v", s.ID, m)
		}
		if m.Self.ID != s.ID || m.Self.Peer != s.PeerAddr || m.Self.Client != s.ClientAddr || cfg.Node.HTTPAddr != s.HTTPAddr {
			t.Fatalf("%s: self %+v, http %s", s.ID, m.Self, cfg.Node.HTTPAddr)
		}
		if len(m.Peers) != 4 {
			t.Fatalf("%s: peers %+v", s.ID, m.Peers)
		}
		for _, p := range m.Peers {
			j := int(p.ID[len(p.ID)-1]-'0') - 1
			if p.Peer != via(self, j) || p.Client != specs[j].ClientAddr || p.HTTP != specs[j].HTTPAddr {
				t.Fatalf("%s: peer %+v, want its peer address %s (the link's proxy)", s.ID, p, via(self, j))
			}
		}
	}
}

// echoServer answers every line with the same line, prefixed with name.
func echoServer(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = c.Close() }()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, name+":"+line); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

// roundTrip dials the proxy at addr, sends a line and returns the answer
// (or the error, within a second).
func roundTrip(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "hi\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return line, err
}

// TestLinksCutHealIsolate: each directed link is a proxy to the target's
// peer address; Cut and Heal act on both directions of one pair only;
// Isolate on every link of one node; Rejoin undoes it.
func TestLinksCutHealIsolate(t *testing.T) {
	specs := fiveSpecs()[:3]
	c := &Cluster{opts: Options{Cluster: &ClusterSpec{}}}
	for i := range specs {
		specs[i].PeerAddr = echoServer(t, specs[i].ID)
		c.Nodes = append(c.Nodes, &Node{Spec: specs[i]})
	}
	if err := c.startLinks(specs); err != nil {
		t.Fatal(err)
	}
	defer c.closeLinks()
	up := func(from, to string) bool {
		t.Helper()
		got, err := roundTrip(c.Link(from, to).Addr())
		if err == nil && got != to+":hi\n" {
			t.Fatalf("link %s→%s reached %q", from, to, got)
		}
		return err == nil
	}
	all := func() map[[2]string]bool {
		m := map[[2]string]bool{}
		for _, a := range specs {
			for _, b := range specs {
				if a.ID != b.ID {
					m[[2]string{a.ID, b.ID}] = up(a.ID, b.ID)
				}
			}
		}
		return m
	}
	want := func(down ...[2]string) {
		t.Helper()
		got := all()
		for k, v := range got {
			isDown := false
			for _, d := range down {
				isDown = isDown || d == k
			}
			if v == isDown {
				t.Errorf("link %s→%s up=%v, want %v", k[0], k[1], v, !isDown)
			}
		}
	}
	want()
	if c.Link("node-1", "node-1") != nil || c.Link("node-1", "node-9") != nil {
		t.Fatal("a link to itself or to an unknown node")
	}
	if err := c.Cut("node-1", "node-2", netproxy.Reset); err != nil {
		t.Fatal(err)
	}
	want([2]string{"node-1", "node-2"}, [2]string{"node-2", "node-1"})
	if err := c.Heal("node-1", "node-2"); err != nil {
		t.Fatal(err)
	}
	want()
	if err := c.Isolate("node-3", netproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	want([2]string{"node-1", "node-3"}, [2]string{"node-3", "node-1"}, [2]string{"node-2", "node-3"}, [2]string{"node-3", "node-2"})
	if err := c.Rejoin("node-3"); err != nil {
		t.Fatal(err)
	}
	want()
	if err := c.Cut("node-1", "node-9", netproxy.Reset); err == nil {
		t.Fatal("cut of a link to an unknown node")
	}
	if err := c.Isolate("node-9", netproxy.Reset); err == nil {
		t.Fatal("isolation of an unknown node")
	}
	if err := c.Delay("node-1", "node-2", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !up("node-1", "node-2") {
		t.Fatal("a delayed link is down")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("a round trip over a link delayed 50ms each way took %v", d)
	}
	c.HealAll()
	want()
}
