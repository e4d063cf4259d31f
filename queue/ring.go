package queue

import "sort"

// ring is a growable FIFO indexed from its front. It backs the retained
// messages of a destination and the in-flight deliveries of a group, which
// add at the back and mostly remove at the front. It is not safe for
// concurrent use.
//
// Up to chunkSize elements it is one small buffer that doubles as needed;
// beyond, it is a list of fixed chunks of chunkSize elements. Growing
// never copies more than one chunk, so a destination holding millions of
// messages does not stall its partition's worker for tens of milliseconds
// (nor make the garbage collector scan a copy) the way doubling one huge
// buffer would.
type ring[T any] struct {
	chunks [][]T // chunks[0] holds the front at head; all but a lone first chunk have chunkSize elements
	head   int
	n      int
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
	// smallRing is the capacity a drained ring keeps rather than freeing.
	smallRing = 64
)

// len returns the number of elements.
func (r *ring[T]) len() int { return r.n }

// at returns a pointer to element i (0 is the front); i must be < len.
func (r *ring[T]) at(i int) *T {
	j := r.head + i
	return &r.chunks[j>>chunkBits][j&chunkMask]
}

// back returns a pointer to the last element; the ring must not be empty.
func (r *ring[T]) back() *T { return r.at(r.n - 1) }

// push appends v at the back.
func (r *ring[T]) push(v T) {
	if len(r.chunks) == 0 {
		r.chunks = append(r.chunks, make([]T, 8))
		r.head = 0
	}
	j := r.head + r.n
	if len(r.chunks) == 1 && j == len(r.chunks[0]) && len(r.chunks[0]) < chunkSize {
		// The lone small buffer is full at the back: compact it, or
		// double it if it is at least half full.
		c := len(r.chunks[0])
		if 2*r.n >= c {
			c *= 2
		}
		nb := make([]T, c)
		copy(nb, r.chunks[0][r.head:r.head+r.n])
		r.chunks[0], r.head, j = nb, 0, r.n
	}
	if c := j >> chunkBits; c == len(r.chunks) {
		r.chunks = append(r.chunks, make([]T, chunkSize))
	}
	r.chunks[j>>chunkBits][j&chunkMask] = v
	r.n++
}

// popFront removes the front element. A drained chunk is released at once,
// and a drained ring keeps at most a small buffer.
func (r *ring[T]) popFront() {
	var zero T
	*r.at(0) = zero
	r.head++
	r.n--
	switch {
	case r.n == 0:
		if len(r.chunks) == 1 && len(r.chunks[0]) <= smallRing {
			r.head = 0
		} else {
			r.chunks, r.head = nil, 0
		}
	case r.head == chunkSize:
		// Only a full-size first chunk can be consumed to its end while
		// elements remain: they are in the next chunk.
		copy(r.chunks, r.chunks[1:])
		r.chunks[len(r.chunks)-1] = nil
		r.chunks = r.chunks[:len(r.chunks)-1]
		r.head = 0
	}
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
