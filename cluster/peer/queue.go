package peer

import "github.com/swarmmq/swarmmq/frame"

// chunkSize is the size of the buffers a link's queue is made of; a frame
// larger than a chunk gets a buffer of its own.
const chunkSize = 256 << 10

// keepChunks is how many empty chunks a link keeps for reuse (1 MiB).
const keepChunks = 4

// queue is a link's outbound frames, encoded back to back in chunks: Send
// appends to the last chunk (never growing one, so never copying what is
// queued), and the writer takes every chunk at once and writes them with
// one writev. It is guarded by link.mu.
type queue struct {
	chunks [][]byte // each holds whole frames
	bytes  int      // queued bytes over all chunks
	frames int
	free   [][]byte // empty chunks of chunkSize, at most keepChunks
}

// push appends o, which must fit (the caller checked the bound).
func (q *queue) push(o *out) {
	size := o.size()
	n := len(q.chunks)
	if n == 0 || cap(q.chunks[n-1])-len(q.chunks[n-1]) < size {
		q.chunks = append(q.chunks, q.chunk(size))
		n++
	}
	c := q.chunks[n-1]
	if o.t == frame.TypeError {
		c = frame.AppendError(c, o.corr, o.code, o.msg)
	} else {
		c = frame.AppendPeerFrame(c, o.t, o.corr, o.payload)
	}
	q.chunks[n-1] = c
	q.bytes += size
	q.frames++
}

// chunk returns an empty buffer for at least size bytes.
func (q *queue) chunk(size int) []byte {
	if size <= chunkSize {
		if n := len(q.free); n > 0 {
			c := q.free[n-1]
			q.free = q.free[:n-1]
			return c
		}
	}
	return make([]byte, 0, max(size, chunkSize))
}

// take removes and returns every queued chunk (into dst) and how many
// frames they hold.
func (q *queue) take(dst [][]byte) ([][]byte, int) {
	dst = append(dst[:0], q.chunks...)
	clear(q.chunks)
	frames := q.frames
	q.chunks, q.bytes, q.frames = q.chunks[:0], 0, 0
	return dst, frames
}

// recycle keeps written chunks of chunkSize for reuse, up to keepChunks.
func (q *queue) recycle(chunks [][]byte) {
	for _, c := range chunks {
		if cap(c) == chunkSize && len(q.free) < keepChunks {
			q.free = append(q.free, c[:0])
		}
	}
}

// drop empties the queue and returns how many frames it held.
func (q *queue) drop() int {
	frames := q.frames
	q.recycle(q.chunks)
	clear(q.chunks)
	q.chunks, q.bytes, q.frames = q.chunks[:0], 0, 0
	return frames
}
