package cluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/test/netproxy"
)

// TestClusterIsolatedLeaderFollowsAgain: three nodes, one destination
// under load; its partition's leader is isolated (every peer link
// blackholed) long enough to lose its leadership, then healed; once another
// node serves the partition, the third replica is killed, so the new
// leader's only follower is the old leader. Publishes must go on within the
// outage bound: the old leader is back in step as a follower by then. (A
// CHAOS_SEED=33 stall was first read as this case; it was the client's
// table, TestClusterPublisherAsksUntilLeader in client, docs/cluster.md.)
func TestClusterIsolatedLeaderFollowsAgain(t *testing.T) {
	if os.Getenv("SWARMMQ_SKIP_CHAOS") != "" {
		t.Skip("SWARMMQ_SKIP_CHAOS is set")
	}
	if testing.Short() {
		t.Skip("real node processes under faults")
	}
	c := Start(t, Options{Bin: nodeBin(t), Nodes: 3, Cluster: &ClusterSpec{}, Flags: []string{"--min-free", "0"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const dest = "chaos-0"
	w := NewWorkload(WorkloadOptions{Addrs: c.Addrs(), SeedList: true, Dests: []string{dest}, Producers: 3,
		Rate: 100, Duration: 25 * time.Second, Client: ClusterClient()})
	t.Cleanup(w.Stop)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	settle := func(d time.Duration) {
		if err := wait(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	settle(3 * time.Second)
	old, err := c.LeaderOf(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	iso := Fault{Kind: FaultIsolateLeader, Node: old.Spec.ID, Dest: dest, Start: time.Now()}
	if err := c.Isolate(old.Spec.ID, netproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	settle(1500 * time.Millisecond)
	if err := c.Rejoin(old.Spec.ID); err != nil {
		t.Fatal(err)
	}
	iso.Healed = time.Now()
	w.Recorder().Fault(iso)
	now := waitNewLeader(ctx, t, c, dest, old.Spec.ID)
	settle(2 * time.Second)
	var third *Node
	for _, n := range c.Nodes {
		if n != old && n != now {
			third = n
		}
	}
	kill := Fault{Kind: FaultKillFollower, Node: third.Spec.ID, Dest: dest, Start: time.Now()}
	if err := third.Kill(); err != nil {
		t.Fatal(err)
	}
	settle(8 * time.Second)
	if err := third.Start(ctx); err != nil {
		t.Fatal(err)
	}
	kill.Healed = time.Now()
	w.Recorder().Fault(kill)
	select {
	case <-w.Produced():
	case <-ctx.Done():
		t.Fatal("producers did not finish")
	}
	w.Drain(ctx)
	w.Stop()
	r := Check(w.Recorder().History())
	t.Logf("%s led %s, was isolated 1.5 s; %s led next; %s was killed for 8 s:\n%s",
		old.Spec.ID, dest, now.Spec.ID, third.Spec.ID, r.Table())
	if !r.OK() || len(r.Lost) > 0 {
		t.Errorf("violations: %d lost, %d redelivered, %d stored twice", len(r.Lost), len(r.Redelivered), len(r.StoredTwice))
	}
	for _, o := range r.Outages {
		if o.Kind == FaultKillFollower && (o.Longest > DefaultOutageBound || !o.Recovered) {
			t.Errorf("no publish acknowledged for %v after %s was killed (bound %v): the old leader %s did not follow %s",
				o.Longest.Round(time.Millisecond), third.Spec.ID, DefaultOutageBound, old.Spec.ID, now.Spec.ID)
		}
	}
}

// waitNewLeader waits until a node other than old serves dest's partition.
func waitNewLeader(ctx context.Context, t *testing.T, c *Cluster, dest, old string) *Node {
	t.Helper()
	p := c.PartitionOf(dest)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if id, ok := c.Poll(ctx).Leader(p); ok && id != old {
			return c.Node(id)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no leader of %s but %s: %v", dest, old, ctx.Err())
		case <-tick.C:
		}
	}
}
