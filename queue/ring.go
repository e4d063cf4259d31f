package queue

import "sort"

// ring is a growable FIFO over a power-of-two buffer, indexed from its
// front. It backs the retained messages of a destination, the in-flight
// deliveries of a group and the dedupe window, which all add at the back
// and mostly remove at the front. It is not safe for concurrent use.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

// len returns the number of elements.
func (r *ring[T]) len() int { return r.n }

// at returns a pointer to element i (0 is the front); i must be < len.
func (r *ring[T]) at(i int) *T { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

// back returns a pointer to the last element; the ring must not be empty.
func (r *ring[T]) back() *T { return r.at(r.n - 1) }

// push appends v at the back.
func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		r.resize(max(8, 2*len(r.buf)))
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

// popFront removes the front element. The buffer shrinks once it is mostly
// empty so that a burst does not pin memory forever.
func (r *ring[T]) popFront() {
	var zero T
	*r.at(0) = zero
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	if len(r.buf) > 1024 && r.n <= len(r.buf)/8 {
		r.resize(len(r.buf) / 4)
	}
}

// resize moves the elements into a new buffer of size c (a power of two
// >= len).
func (r *ring[T]) resize(c int) {
	nb := make([]T, c)
	for i := 0; i < r.n; i++ {
		nb[i] = *r.at(i)
	}
	r.buf, r.head = nb, 0
}

// seqer is an element kept in ascending, gap-allowed sequence order.
type seqer interface{ seqNum() uint64 }

// seqIndex returns the index of the first element of r (ascending by
// seqNum, no duplicates) whose seq is >= seq, or r.len() if none is. When
// nothing before seq was removed from the middle, the guess seq-front is
// exact and no search runs.
func seqIndex[T seqer](r *ring[T], seq uint64) int {
	if r.n == 0 {
		return 0
	}
	front := (*r.at(0)).seqNum()
	if seq <= front {
		return 0
	}
	hi := r.n
	if d := seq - front; d < uint64(r.n) {
		i := int(d)
		if (*r.at(i)).seqNum() == seq {
			return i
		}
		hi = i // element i has a larger seq: the answer is at or before i
	}
	return sort.Search(hi, func(i int) bool { return (*r.at(i)).seqNum() >= seq })
}

// seqFind returns the index of the element with exactly seq, or -1.
func seqFind[T seqer](r *ring[T], seq uint64) int {
	i := seqIndex(r, seq)
	if i < r.n && (*r.at(i)).seqNum() == seq {
		return i
	}
	return -1
}
