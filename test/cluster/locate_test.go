package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
)

func TestWrongNode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&frame.Error{Code: frame.CodeNotLeader}, true},
		{fmt.Errorf("swarmmq: publish to q: %w", &frame.Error{Code: frame.CodeNotLeader}), true},
		{&frame.Error{Code: frame.CodeShuttingDown}, true},
		{fmt.Errorf("x: %w", client.ErrTimeout), true},
		{fmt.Errorf("x: %w", client.ErrConnectionLost), true},
		{client.ErrClosed, true},
		{&frame.Error{Code: frame.CodeDestinationFull}, false},
		{errors.New("other"), false},
	} {
		if got := wrongNode(tc.err); got != tc.want {
			t.Errorf("wrongNode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestWorkloadMovesWhenItsNodeDies: routing by hand, every worker dials
// the node Locate names; when that node dies for good, the workers' clients
// give up within about a second and dial again, and publishing and
// consuming go on at the node Locate names then. (Two single nodes stand
// in for a cluster: what the first acknowledged is not on the second, so
// only the move is checked here, not the history.)
func TestWorkloadMovesWhenItsNodeDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	c := Start(t, Options{Bin: nodeBin(t), Nodes: 2, Flags: []string{"--min-free", "0"}})
	a, b := c.Nodes[0], c.Nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := NewWorkload(WorkloadOptions{
		Addrs: c.Addrs(), Duration: 6 * time.Second, Rate: 200, Client: ClusterClient(), Drain: time.Second,
		Locate: func(context.Context, string) string {
			if a.Running() {
				return a.Spec.ClientAddr
			}
			return b.Spec.ClientAddr
		},
	})
	t.Cleanup(w.Stop)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := wait(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := a.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Produced():
	case <-ctx.Done():
		t.Fatal("producers did not finish")
	}
	w.Drain(ctx)
	w.Stop()
	h := w.Recorder().History()
	before, after := map[string]int{}, map[string]int{}
	for _, p := range h.Publishes {
		if !p.Acked() {
			continue
		}
		if p.At.Before(killed) {
			before[p.Dest]++
		} else {
			after[p.Dest]++
		}
	}
	delivered := map[string]bool{}
	for _, d := range h.Deliveries {
		if d.At.After(killed) {
			delivered[d.Group+"/"+d.Dest] = true
		}
	}
	for _, d := range w.opts.Dests {
		if before[d] == 0 || after[d] == 0 {
			t.Errorf("%s: %d acked before the kill, %d after", d, before[d], after[d])
		}
		for _, g := range w.opts.Groups {
			if !delivered[g+"/"+d] {
				t.Errorf("group %s got nothing of %s after the kill", g, d)
			}
		}
	}
	r := Check(h)
	t.Logf("acked %d (%v before the kill, %v after), errors %d", r.Acked, before, after, r.errorTotal())
}

// TestLocatorFollowsLeadership: the Locator's view follows /health as the
// leader moves, says "" while two nodes claim the partition, and a worker
// routing by hand is told to move only when another node is named.
func TestLocatorFollowsLeadership(t *testing.T) {
	c := &Cluster{opts: Options{Cluster: &ClusterSpec{Partitions: 8, Replication: 3}}}
	p := c.PartitionOf("orders")
	var leaders atomic.Value // []string: the ids claiming p
	leaders.Store([]string{"node-1"})
	for i := range 3 {
		id := nodeID(i)
		n := fakeNode(t, id, func() (int, []byte) {
			if slices.Contains(leaders.Load().([]string), id) {
				return http.StatusOK, healthBody(t, id, 8, p)
			}
			return http.StatusOK, healthBody(t, id, 8)
		})
		n.Spec.ClientAddr = "127.0.0.1:" + strconv.Itoa(9001+i)
		c.Nodes = append(c.Nodes, n)
	}
	l := c.StartLocator(5 * time.Millisecond)
	defer l.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	await := func(want string) {
		t.Helper()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for l.Locate(ctx, "orders") != want {
			select {
			case <-ctx.Done():
				t.Fatalf("Locate = %q, want %q", l.Locate(ctx, "orders"), want)
			case <-tick.C:
			}
		}
	}
	await("127.0.0.1:9001")
	w := &Workload{opts: WorkloadOptions{Locate: l.Locate}}
	if w.movedFrom(ctx, "orders", "127.0.0.1:9001") || !w.movedFrom(ctx, "orders", "127.0.0.1:9002") {
		t.Fatal("movedFrom disagrees with Locate")
	}
	leaders.Store([]string{"node-1", "node-3"})
	await("")
	if w.movedFrom(ctx, "orders", "127.0.0.1:9001") {
		t.Fatal("told to move while the leadership is not settled")
	}
	leaders.Store([]string{"node-3"})
	await("127.0.0.1:9003")
	l.Stop()
	l.Stop()
}
