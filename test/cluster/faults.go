package cluster

import (
	"context"
	"fmt"
	"time"
)

// FaultKind names a fault the harness injects.
type FaultKind string

// The faults a Node takes.
const (
	// FaultKill is kill -9 of the node's process group, then a restart on
	// the same data directory.
	FaultKill FaultKind = "kill9"
	// FaultPause is SIGSTOP, a pause of Options.Pause, then SIGCONT.
	FaultPause FaultKind = "pause"
	// FaultRestart is SIGTERM, a clean exit, then a restart on the same
	// data directory.
	FaultRestart FaultKind = "restart"
	// FaultWipe is kill -9, the data directory removed, then a restart on
	// the empty directory. On a single node it loses everything: it is for
	// clusters, where the node catches up from its peers.
	FaultWipe FaultKind = "wipe"
)

// Inject injects one fault of kind into n and heals it: for FaultPause the
// node stays stopped for pause. It returns the fault with the time the
// signal went out and the time n answered /health again.
func Inject(ctx context.Context, n *Node, kind FaultKind, pause time.Duration) (Fault, error) {
	f := Fault{Kind: kind, Node: n.Spec.ID, Start: time.Now()}
	if err := inject(ctx, n, kind, pause); err != nil {
		return f, fmt.Errorf("cluster: %s of %s: %w", kind, n.Spec.ID, err)
	}
	f.Healed = time.Now()
	return f, nil
}

func inject(ctx context.Context, n *Node, kind FaultKind, pause time.Duration) error {
	switch kind {
	case FaultKill:
		if err := n.Kill(); err != nil {
			return err
		}
		return n.Start(ctx)
	case FaultRestart:
		if err := n.Stop(ctx); err != nil {
			return err
		}
		return n.Start(ctx)
	case FaultWipe:
		if err := n.Kill(); err != nil {
			return err
		}
		if err := n.Wipe(); err != nil {
			return err
		}
		return n.Start(ctx)
	case FaultPause:
		if err := n.Pause(); err != nil {
			return err
		}
		t := time.NewTimer(pause)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		if err := n.Resume(); err != nil {
			return err
		}
		return n.WaitHealthy(ctx)
	}
	return fmt.Errorf("unknown fault %q", kind)
}
