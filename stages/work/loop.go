package work

import (
	"context"
	"sync"

	"github.com/swarmmq/swarmmq/graph"
)

// DefaultBatch is how many items a worker pops from its ring at once.
const DefaultBatch = 256

// Drain pops batches of up to max items from in and hands each to fn, until
// in is closed and empty. It is the loop of every simple stage worker.
func Drain[T any](in *graph.Ring[T], max int, fn func(batch []T)) {
	buf := make([]T, 0, max)
	for {
		buf = in.PopBatch(buf[:0], max)
		if len(buf) > 0 {
			fn(buf)
			clear(buf)
			continue
		}
		if in.Closed() {
			return
		}
		<-in.C()
	}
}

// Runner is a stage made of one goroutine draining one ring. It implements
// graph.Stage; Stop closes the input ring, lets the goroutine drain it, and
// waits for it (bounded by ctx). Safe for concurrent use.
type Runner[T any] struct {
	name  string
	in    *graph.Ring[T]
	batch int
	fn    func(batch []T)

	g       graph.Group
	done    chan struct{}
	started sync.Once
	stopped sync.Once
}

// NewRunner returns a Runner named name; it starts nothing.
func NewRunner[T any](name string, in *graph.Ring[T], batch int, fn func(batch []T)) *Runner[T] {
	if batch <= 0 {
		batch = DefaultBatch
	}
	return &Runner[T]{name: name, in: in, batch: batch, fn: fn, done: make(chan struct{})}
}

// Start starts the goroutine.
func (r *Runner[T]) Start() error {
	r.started.Do(func() {
		r.g.Go(r.name, func() error {
			defer close(r.done)
			Drain(r.in, r.batch, r.fn)
			return nil
		})
	})
	return nil
}

// Stop closes the input, waits until it is drained and the goroutine has
// returned, or until ctx is done.
func (r *Runner[T]) Stop(ctx context.Context) error {
	r.stopped.Do(func() { r.in.Close() })
	r.started.Do(func() { close(r.done) }) // never started: nothing to wait for
	select {
	case <-r.done:
		return r.g.Wait()
	case <-ctx.Done():
		return ctx.Err()
	}
}
