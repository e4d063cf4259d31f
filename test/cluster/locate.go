package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
)

// This file is the workload's routing by hand, for a client library that
// does not follow partition leaders by itself: each worker (one
// destination) dials the node WorkloadOptions.Locate names, else the seeds
// in turn, and moves when the node it uses says or shows that it is the
// wrong one. When the client follows leaders, Locate stays nil and the
// workers dial the seed list.

// ClusterClient is the client template of a workload against a cluster:
// it gives up on a dead node within about a second (so that the worker
// moves to another) and bounds each request to 3 s (so that a publish to
// an isolated leader comes back).
func ClusterClient() client.Options {
	return client.Options{
		MaxReconnects: 3, ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: 300 * time.Millisecond,
		RequestTimeout: 3 * time.Second, DialTimeout: time.Second,
	}
}

// Locate returns the client address of dest's leader as /health says now
// (one poll, within a second), or "" when no single node claims it.
func (c *Cluster) Locate(ctx context.Context, dest string) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	id, ok := c.Poll(ctx).Leader(c.PartitionOf(dest))
	if !ok {
		return ""
	}
	return c.Node(id).Spec.ClientAddr
}

// addrFor returns the address a worker of dest dials on its attempt-th
// try: the seed list (WorkloadOptions.SeedList), or the located leader
// when known, else the seeds in turn.
func (w *Workload) addrFor(ctx context.Context, dest string, attempt int) string {
	if w.opts.SeedList {
		return strings.Join(w.opts.Addrs, ",")
	}
	if w.opts.Locate != nil {
		if a := w.opts.Locate(ctx, dest); a != "" {
			return a
		}
	}
	return w.opts.Addrs[attempt%len(w.opts.Addrs)]
}

// wrongNode reports an error after which a worker routing by hand should
// dial again: the node does not lead the partition, is going away, is
// gone, or did not answer in time.
func wrongNode(err error) bool {
	if errors.Is(err, client.ErrClosed) || errors.Is(err, client.ErrConnectionLost) || errors.Is(err, client.ErrTimeout) {
		return true
	}
	var fe *frame.Error
	return errors.As(err, &fe) && (fe.Code == frame.CodeNotLeader || fe.Code == frame.CodeShuttingDown)
}
