package cluster

import (
	"context"
	"errors"
	"fmt"
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
