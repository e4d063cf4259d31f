package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/test/netproxy"
)

// The faults of a cluster, each aimed at a replica of one destination's
// partition, chosen when the fault starts (the leader from /health).
const (
	// FaultKillLeader is kill -9 of the leader, down for the hold, then a
	// restart on the same data directory.
	FaultKillLeader FaultKind = "kill9-leader"
	// FaultKillFollower is the same for a follower of the partition.
	FaultKillFollower FaultKind = "kill9-follower"
	// FaultPauseLeader is SIGSTOP of the leader for the hold (longer than
	// the election timeout), then SIGCONT.
	FaultPauseLeader FaultKind = "pause-leader"
	// FaultIsolateLeader blackholes every peer link of the leader for the
	// hold, then heals them; clients still reach it.
	FaultIsolateLeader FaultKind = "isolate-leader"
	// FaultCutLink resets the link between the leader and one follower
	// for the hold, then heals it.
	FaultCutLink FaultKind = "cut-link"
	// FaultRestartLeader is SIGTERM of the leader, its clean exit, and a
	// restart at once.
	FaultRestartLeader FaultKind = "restart-leader"
	// FaultWipeFollower is kill -9 of a follower, its data directory
	// removed, and a restart on the empty directory: it must catch up from
	// its peers.
	FaultWipeFollower FaultKind = "wipe-follower"
)

// ClusterKinds are the cluster faults of the mixed runs, in the order a
// short run takes them; the chaos runs add FaultWipeFollower (chaosKinds),
// which also runs on its own (TestClusterWipeFollower).
var ClusterKinds = []FaultKind{FaultKillLeader, FaultPauseLeader, FaultIsolateLeader, FaultKillFollower,
	FaultCutLink, FaultRestartLeader}

// DefaultSettle bounds the wait, after a fault healed, until every node
// answers /ready again.
const DefaultSettle = 30 * time.Second

// InjectCluster injects one fault of kind aimed at dest's partition and
// heals it: the node or link stays faulty for hold. It returns the fault
// with the time it started (signal sent or link cut) and the time the node
// answered /health again (or the link was healed), then waits until every
// node answers /ready (caught up), within DefaultSettle.
func (c *Cluster) InjectCluster(ctx context.Context, kind FaultKind, dest string, hold time.Duration) (Fault, error) {
	f := Fault{Kind: kind, Dest: dest}
	target, err := c.target(ctx, kind, dest)
	if err != nil {
		return f, err
	}
	f.Node = target.Spec.ID
	if err := c.injectOn(ctx, &f, target, hold); err != nil {
		return f, fmt.Errorf("cluster: %s of %s (%s): %w", kind, f.Node, dest, err)
	}
	f.Healed = time.Now()
	settle, cancel := context.WithTimeout(ctx, DefaultSettle)
	defer cancel()
	if err := c.WaitReady(settle); err != nil {
		return f, fmt.Errorf("cluster: after %s of %s: %w", kind, f.Node, err)
	}
	return f, nil
}

// target picks the node a fault of kind hits.
func (c *Cluster) target(ctx context.Context, kind FaultKind, dest string) (*Node, error) {
	find, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	switch kind {
	case FaultKillFollower, FaultWipeFollower:
		return c.FollowerOf(find, dest)
	case FaultKillLeader, FaultPauseLeader, FaultIsolateLeader, FaultCutLink, FaultRestartLeader:
		return c.LeaderOf(find, dest)
	}
	return nil, fmt.Errorf("cluster: unknown fault %q", kind)
}

// injectOn injects f.Kind into n, setting f.Start when it starts.
func (c *Cluster) injectOn(ctx context.Context, f *Fault, n *Node, hold time.Duration) error {
	switch f.Kind {
	case FaultKillLeader, FaultKillFollower, FaultWipeFollower:
		f.Start = time.Now()
		if err := n.Kill(); err != nil {
			return err
		}
		if f.Kind == FaultWipeFollower {
			if err := n.Wipe(); err != nil {
				return err
			}
		}
		if err := wait(ctx, hold); err != nil {
			return err
		}
		return n.Start(ctx)
	case FaultPauseLeader:
		f.Start = time.Now()
		_, err := Inject(ctx, n, FaultPause, hold)
		return err
	case FaultRestartLeader:
		f.Start = time.Now()
		_, err := Inject(ctx, n, FaultRestart, 0)
		return err
	case FaultIsolateLeader:
		f.Start = time.Now()
		if err := c.Isolate(n.Spec.ID, netproxy.Blackhole); err != nil {
			return err
		}
		return errors.Join(wait(ctx, hold), c.Rejoin(n.Spec.ID))
	case FaultCutLink:
		follower, err := c.FollowerOf(ctx, f.Dest)
		if err != nil {
			return err
		}
		f.Node += "~" + follower.Spec.ID
		f.Start = time.Now()
		if err := c.Cut(n.Spec.ID, follower.Spec.ID, netproxy.Reset); err != nil {
			return err
		}
		return errors.Join(wait(ctx, hold), c.Heal(n.Spec.ID, follower.Spec.ID))
	}
	return fmt.Errorf("unknown fault %q", f.Kind)
}

// wait waits d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitReady waits until every node answers /ready with 200 (a cluster
// member once it has caught up), or ctx ends.
func (c *Cluster) WaitReady(ctx context.Context) error {
	for _, n := range c.Nodes {
		if err := n.waitPath(ctx, "/ready"); err != nil {
			return err
		}
	}
	return nil
}
