package fanout

import (
	"context"
	"errors"

	"github.com/swarmmq/swarmmq/queue"
)

// ErrStopped is returned by Inspect once a worker has stopped.
var ErrStopped = errors.New("swarmmq/fanout: stage stopped")

// query is a read of the partitions a worker owns, run on its goroutine.
type query struct {
	fn   func(p *queue.Partition, l Live)
	done chan struct{}
}

// Live is what the stage knows of a partition's traffic beyond the
// partition's state: the publish counts of its destinations and the
// consumers fetching for its groups. It is valid only during the
// InspectLive callback it is given to, on the worker's goroutine: not safe
// for concurrent use, and not to be kept.
type Live struct {
	w   *worker
	p   *queue.Partition
	now int64
}

// Publishes returns what this node stored for destination dest as the
// leader of its partition (zero if nothing since the node started).
func (l Live) Publishes(dest []byte) Publishes {
	r := l.w.pub[string(dest)]
	if r == nil {
		return Publishes{}
	}
	return r.publishes(l.now, l.w.started)
}

// Inspect calls fn with every partition, on the goroutine of the worker
// that owns it, between two turns of its loop: fn sees a consistent
// partition and must only read it (and not keep views of it). The workers
// are asked one after another, so calls of fn never overlap and each
// happens before Inspect returns. It returns ctx's error or ErrStopped if
// a worker does not answer; safe for concurrent use.
func (s *Stage) Inspect(ctx context.Context, fn func(p *queue.Partition)) error {
	return s.InspectLive(ctx, func(p *queue.Partition, _ Live) { fn(p) })
}

// InspectLive is Inspect with the worker's Live view of each partition
// (publish rates, group members), read at the stage's clock (Deps.Now).
func (s *Stage) InspectLive(ctx context.Context, fn func(p *queue.Partition, l Live)) error {
	for _, w := range s.workers {
		q := query{fn: fn, done: make(chan struct{})}
		select {
		case w.queries <- q:
		case <-w.exited:
			return ErrStopped
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-q.done:
		case <-ctx.Done():
			// The worker still runs fn; wait so fn never outlives the call.
			<-q.done
			return ctx.Err()
		}
	}
	return nil
}

// answer runs q over the worker's partitions.
func (w *worker) answer(q query) {
	now := w.s.deps.Now()
	for _, p := range w.parts {
		part := w.s.deps.Partitions[p]
		q.fn(part, Live{w: w, p: part, now: now})
	}
	close(q.done)
}

// answerQueries serves the queries waiting now, without blocking.
func (w *worker) answerQueries() {
	for {
		select {
		case q := <-w.queries:
			w.answer(q)
		default:
			return
		}
	}
}
