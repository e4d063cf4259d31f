package cluster

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
)

// This file is the workload's routing by hand, for a client library that
// does not follow partition leaders by itself: each worker (one
// destination) dials the node WorkloadOptions.Locate names (a Locator's
// latest view of /health), else the seeds in turn, and dials again when
// Locate names another node or the node it uses says or shows that it is
// the wrong one. Locate must not block: workers ask it on every tick. When the client follows leaders, Locate stays nil and the
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

// Locator keeps the leader of each partition of a Cluster, as the nodes'
// /health said at its last poll, for workers routing by hand. It owns one
// goroutine, polling every interval until Stop. It is safe for concurrent
// use.
type Locator struct {
	c    *Cluster
	quit chan struct{}
	wg   sync.WaitGroup

	mu struct {
		sync.Mutex
		leaders Leadership
	}
}

// StartLocator polls the nodes' /health every interval until Stop.
func (c *Cluster) StartLocator(interval time.Duration) *Locator {
	l := &Locator{c: c, quit: make(chan struct{})}
	l.poll()
	l.wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-l.quit:
				return
			case <-tick.C:
				l.poll()
			}
		}
	})
	return l
}

func (l *Locator) poll() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got := l.c.Poll(ctx)
	l.mu.Lock()
	l.mu.leaders = got
	l.mu.Unlock()
}

// Locate returns the client address of dest's leader at the last poll,
// or "" when no single node claimed it. It does not block.
func (l *Locator) Locate(_ context.Context, dest string) string {
	l.mu.Lock()
	id, ok := l.mu.leaders.Leader(l.c.PartitionOf(dest))
	l.mu.Unlock()
	if !ok {
		return ""
	}
	return l.c.Node(id).Spec.ClientAddr
}

// Stop stops the polling and waits for it. It may be called more than
// once.
func (l *Locator) Stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	l.wg.Wait()
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

// movedFrom reports whether Locate names a node for dest other than addr
// (routing by hand: the worker should dial again).
func (w *Workload) movedFrom(ctx context.Context, dest, addr string) bool {
	if w.opts.Locate == nil {
		return false
	}
	a := w.opts.Locate(ctx, dest)
	return a != "" && a != addr
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
