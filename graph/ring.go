package graph

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Ring.Push after Ring.Close.
var ErrClosed = errors.New("swarmmq/graph: ring closed")

// Ring is a bounded multi-producer, single-consumer queue of T.
//
// Producers call TryPush (never blocks; reports false when the ring is full
// or closed) or Push (blocks while full; for stage-to-stage edges that may
// wait). The single consumer pops batches:
//
//	for {
//		batch = r.PopBatch(batch[:0], max)
//		if len(batch) == 0 {
//			if r.Closed() {
//				return
//			}
//			<-r.C() // or select with a quit channel
//			continue
//		}
//		// handle batch
//	}
//
// C is signalled when a push finds the ring empty, so the consumer must only
// wait on C after a PopBatch that returned fewer than max items (that pop
// saw the ring empty). A stale signal can cause one spurious wake-up, never a
// lost one.
//
// SpaceC is signalled by the first pop that frees room after a TryPush or
// Push failed because the ring was full. It has one slot and is meant for one
// waiter (netio's dispatcher, which wakes every connection it held back); a
// signal that nobody has received yet stays pending.
//
// The design is one mutex around a circular slice: at the rates a node needs
// (a few million items/s across all rings, popped in batches) an uncontended
// lock costs ~20 ns and batch popping amortises it; BenchmarkRing measures it.
//
// Ring is safe for concurrent use.
type Ring[T any] struct {
	c     chan struct{} // one slot: items arrived in an empty ring
	space chan struct{} // one slot: room after a failed push
	mu    struct {
		sync.Mutex
		buf       []T
		head      int
		n         int
		closed    bool
		wantSpace bool          // a push failed because the ring was full
		notFull   chan struct{} // closed on the next pop; for blocked Push calls
	}
}

// NewRing returns an empty ring holding at most capacity items. It panics if
// capacity < 1 (a programming error: Topology.Validate rejects such edges).
func NewRing[T any](capacity int) *Ring[T] {
	if capacity < 1 {
		panic("BUG: graph: ring capacity must be positive")
	}
	r := &Ring[T]{
		c:     make(chan struct{}, 1),
		space: make(chan struct{}, 1),
	}
	r.mu.buf = make([]T, capacity)
	return r
}

// TryPush appends v and reports true, or reports false without blocking when
// the ring is full or closed. After a false caused by a full ring, SpaceC is
// signalled by the next pop.
func (r *Ring[T]) TryPush(v T) bool {
	r.mu.Lock()
	if r.mu.closed {
		r.mu.Unlock()
		return false
	}
	if r.mu.n == len(r.mu.buf) {
		r.mu.wantSpace = true
		r.mu.Unlock()
		return false
	}
	wasEmpty := r.pushLocked(v)
	r.mu.Unlock()
	if wasEmpty {
		signal(r.c)
	}
	return true
}

// Push appends v, waiting while the ring is full. It returns ErrClosed if the
// ring is or becomes closed, and ctx.Err() if ctx ends first.
func (r *Ring[T]) Push(ctx context.Context, v T) error {
	for {
		r.mu.Lock()
		if r.mu.closed {
			r.mu.Unlock()
			return ErrClosed
		}
		if r.mu.n < len(r.mu.buf) {
			wasEmpty := r.pushLocked(v)
			r.mu.Unlock()
			if wasEmpty {
				signal(r.c)
			}
			return nil
		}
		r.mu.wantSpace = true
		if r.mu.notFull == nil {
			r.mu.notFull = make(chan struct{})
		}
		wait := r.mu.notFull
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pushLocked stores v at the tail and reports whether the ring was empty.
func (r *Ring[T]) pushLocked(v T) bool {
	tail := r.mu.head + r.mu.n
	if tail >= len(r.mu.buf) {
		tail -= len(r.mu.buf)
	}
	r.mu.buf[tail] = v
	r.mu.n++
	return r.mu.n == 1
}

// PopBatch appends up to max of the oldest items to dst, removes them from
// the ring and returns the extended slice. It never blocks; it appends nothing
// when the ring is empty (or max < 1). Popped slots are zeroed so the ring
// keeps no references to them.
func (r *Ring[T]) PopBatch(dst []T, max int) []T {
	r.mu.Lock()
	k := min(r.mu.n, max)
	if k <= 0 {
		r.mu.Unlock()
		return dst
	}
	buf := r.mu.buf
	first := min(k, len(buf)-r.mu.head)
	dst = append(dst, buf[r.mu.head:r.mu.head+first]...)
	clear(buf[r.mu.head : r.mu.head+first])
	if first < k {
		dst = append(dst, buf[:k-first]...)
		clear(buf[:k-first])
	}
	r.mu.head += k
	if r.mu.head >= len(buf) {
		r.mu.head -= len(buf)
	}
	r.mu.n -= k
	wantSpace := r.mu.wantSpace
	r.mu.wantSpace = false
	if r.mu.notFull != nil {
		close(r.mu.notFull)
		r.mu.notFull = nil
	}
	r.mu.Unlock()
	if wantSpace {
		signal(r.space)
	}
	return dst
}

// C returns the consumer's wake-up channel (one slot). See the type comment
// for when it is signalled.
func (r *Ring[T]) C() <-chan struct{} { return r.c }

// SpaceC returns the producer's room-again channel (one slot). See the type
// comment for when it is signalled.
func (r *Ring[T]) SpaceC() <-chan struct{} { return r.space }

// Len returns the number of items in the ring.
func (r *Ring[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.n
}

// Cap returns the most items the ring holds.
func (r *Ring[T]) Cap() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.mu.buf)
}

// Close stops the ring from accepting items: TryPush reports false and Push
// returns ErrClosed, also for calls blocked in Push. The consumer is woken
// (C is signalled) and can pop what is left. Close is idempotent.
func (r *Ring[T]) Close() {
	r.mu.Lock()
	if r.mu.closed {
		r.mu.Unlock()
		return
	}
	r.mu.closed = true
	if r.mu.notFull != nil {
		close(r.mu.notFull)
		r.mu.notFull = nil
	}
	r.mu.Unlock()
	signal(r.c)
}

// Closed reports whether the ring is closed and every item has been popped:
// the consumer has nothing more to do.
func (r *Ring[T]) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.closed && r.mu.n == 0
}

// signal fills a one-slot channel unless it is already full.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
