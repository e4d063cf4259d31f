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
	fn   func(p *queue.Partition)
	done chan struct{}
}

// Inspect calls fn with every partition, on the goroutine of the worker
// that owns it, between two turns of its loop: fn sees a consistent
// partition and must only read it (and not keep views of it). The workers
// are asked one after another, so calls of fn never overlap and each
// happens before Inspect returns. It returns ctx's error or ErrStopped if
// a worker does not answer; safe for concurrent use.
func (s *Stage) Inspect(ctx context.Context, fn func(p *queue.Partition)) error {
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
	for _, p := range w.parts {
		q.fn(w.s.deps.Partitions[p])
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
