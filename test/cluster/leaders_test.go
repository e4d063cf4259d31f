package cluster

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/stages"
)

// healthBody is a /health body as the node writes it (stages.Health).
func healthBody(t testing.TB, id string, partitions uint32, led ...uint32) []byte {
	t.Helper()
	if led == nil {
		led = []uint32{}
	}
	b, err := json.Marshal(stages.Health{NodeID: id, Cluster: "chaos", Status: "ok", Partitions: partitions, PartitionsLed: led, Peers: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHealthReadsTheNodesBody(t *testing.T) {
	h, err := ParseHealth(healthBody(t, "node-2", 8, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	if h.NodeID != "node-2" || h.Partitions != 8 || !h.Leads(1) || !h.Leads(5) || h.Leads(2) || h.Status != "ok" {
		t.Fatalf("parsed %+v", h)
	}
}

func TestParseHealthRefusesBadBodies(t *testing.T) {
	for name, body := range map[string]string{
		"not json":         `<html>`,
		"no node id":       `{"partitions": 8, "partitions_led": [1]}`,
		"led out of range": `{"node_id": "node-1", "partitions": 8, "partitions_led": [8]}`,
		"led wrong type":   `{"node_id": "node-1", "partitions": 8, "partitions_led": ["1"]}`,
	} {
		if _, err := ParseHealth([]byte(body)); err == nil {
			t.Errorf("%s: parsed %s", name, body)
		}
	}
}

func FuzzParseHealth(f *testing.F) {
	f.Add(healthBody(f, "node-1", 8, 0, 7))
	f.Add([]byte(`{"node_id":"n","partitions":0,"partitions_led":[0]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHealth(b)
		if err != nil {
			return
		}
		if h.NodeID == "" {
			t.Fatal("accepted a body without node_id")
		}
		for _, p := range h.PartitionsLed {
			if p >= h.Partitions {
				t.Fatalf("accepted led partition %d of %d", p, h.Partitions)
			}
		}
	})
}

func TestLeadershipLeaderIsTheOnlyClaimant(t *testing.T) {
	l := Leadership{
		"node-1": {NodeID: "node-1", Partitions: 8, PartitionsLed: []uint32{0, 3}},
		"node-2": {NodeID: "node-2", Partitions: 8, PartitionsLed: []uint32{1, 3}},
	}
	if id, ok := l.Leader(0); !ok || id != "node-1" {
		t.Errorf("leader of 0: %q %v", id, ok)
	}
	if id, ok := l.Leader(1); !ok || id != "node-2" {
		t.Errorf("leader of 1: %q %v", id, ok)
	}
	if id, ok := l.Leader(3); ok {
		t.Errorf("two claimants of 3, got %q", id)
	}
	if id, ok := l.Leader(2); ok {
		t.Errorf("no claimant of 2, got %q", id)
	}
}

// fakeNode serves /health with the body body returns (and status code).
func fakeNode(t *testing.T, id string, body func() (int, []byte)) *Node {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		code, b := body()
		w.WriteHeader(code)
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return &Node{Spec: NodeSpec{ID: id, HTTPAddr: strings.TrimPrefix(srv.URL, "http://")}}
}

// TestLeaderOfWaitsForOneClaimant: while the old and the new leader both
// claim the partition LeaderOf waits; once the old one stops, it returns
// the new one. A node answering 503 (not ok) still counts; one that does
// not answer, or answers as another id, does not.
func TestLeaderOfWaitsForOneClaimant(t *testing.T) {
	spec := &ClusterSpec{Partitions: 8, Replication: 3}
	c := &Cluster{opts: Options{Cluster: spec}}
	p := c.PartitionOf("orders")
	var oldStepsDown atomic.Bool
	var polls atomic.Int32
	c.Nodes = []*Node{
		fakeNode(t, "node-1", func() (int, []byte) {
			polls.Add(1)
			if oldStepsDown.Load() {
				return http.StatusOK, healthBody(t, "node-1", 8)
			}
			return http.StatusOK, healthBody(t, "node-1", 8, p)
		}),
		fakeNode(t, "node-2", func() (int, []byte) { return http.StatusServiceUnavailable, healthBody(t, "node-2", 8, p) }),
		fakeNode(t, "node-3", func() (int, []byte) { return http.StatusOK, healthBody(t, "node-9", 8, (p+1)%8) }),
	}
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Nodes = append(c.Nodes, &Node{Spec: NodeSpec{ID: "node-4", HTTPAddr: dead.Addr().String()}})
	_ = dead.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	if n, err := c.LeaderOf(short, "orders"); err == nil {
		t.Fatalf("two claimants, LeaderOf returned %s", n.Spec.ID)
	}
	cancelShort()
	if polls.Load() < 2 {
		t.Fatalf("LeaderOf polled %d times in 200ms", polls.Load())
	}
	oldStepsDown.Store(true)
	n, err := c.LeaderOf(ctx, "orders")
	if err != nil || n.Spec.ID != "node-2" {
		t.Fatalf("LeaderOf: %v %v", n, err)
	}
	if got := c.Poll(ctx); len(got) != 2 {
		t.Fatalf("poll: %v, want node-1 and node-2 only", got)
	}
}

// TestReplicasFollowPlacement: the replicas of a destination's partition
// are placement's, and FollowerOf picks one that is not the leader.
func TestReplicasFollowPlacement(t *testing.T) {
	spec := &ClusterSpec{Partitions: 8, Replication: 3}
	c := &Cluster{opts: Options{Cluster: spec}}
	for i := range 5 {
		c.Nodes = append(c.Nodes, &Node{Spec: NodeSpec{ID: nodeID(i)}})
	}
	ids, err := c.Replicas("orders")
	if err != nil || len(ids) != 3 {
		t.Fatalf("replicas %v %v", ids, err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if c.Node(id) == nil || seen[id] {
			t.Fatalf("replicas %v", ids)
		}
		seen[id] = true
	}
	leader := ids[1]
	p := c.PartitionOf("orders")
	for i, n := range c.Nodes {
		id := n.Spec.ID
		led := []uint32{}
		if id == leader {
			led = append(led, p)
		}
		c.Nodes[i] = fakeNode(t, id, func() (int, []byte) { return http.StatusOK, healthBody(t, id, 8, led...) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := c.FollowerOf(ctx, "orders")
	if err != nil || f.Spec.ID != ids[0] {
		t.Fatalf("follower %v %v, want %s (replicas %v, leader %s)", f, err, ids[0], ids, leader)
	}
}

func TestSpreadDests(t *testing.T) {
	c := &Cluster{opts: Options{Cluster: &ClusterSpec{Partitions: 8, Replication: 3}}}
	for i := range 5 {
		c.Nodes = append(c.Nodes, &Node{Spec: NodeSpec{ID: nodeID(i)}})
	}
	ds, err := c.SpreadDests(3)
	if err != nil || len(ds) != 3 {
		t.Fatalf("%v %v", ds, err)
	}
	parts, firsts := map[uint32]bool{}, map[string]bool{}
	for _, d := range ds {
		ids, err := c.Replicas(d)
		if err != nil {
			t.Fatal(err)
		}
		if parts[c.PartitionOf(d)] || firsts[ids[0]] {
			t.Fatalf("%v share a partition or a preferred leader", ds)
		}
		parts[c.PartitionOf(d)], firsts[ids[0]] = true, true
	}
	if _, err := c.SpreadDests(9); err == nil {
		t.Fatal("9 distinct partitions of 8")
	}
}
