package rlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

// chunkSenders are the goroutines sending chunked payloads (Net.chunks).
type chunkSenders struct {
	sync.Mutex
	g      graph.Group
	busy   int
	closed bool
	quit   chan struct{}
}

// A raft snapshot carries the partition's state and every record from the
// oldest one a retained message points at: it grows with a backlog, past
// a peer frame (peer.DefaultMaxFrame) and past a peer's queue
// (peer.DefaultQueueBytes). So a RAFT payload larger than ChunkSize goes
// as chunks, each a RAFT frame of its own:
//
//	+------------------------+--------+---------+-----------+-------+
//	| 0xFFFFFFFD (u32 BE)    | id u64 | seq u32 | total u32 | bytes |
//	+------------------------+--------+---------+-----------+-------+
//
// sent in order by a goroutine of the Net (one per such payload, at most
// maxChunkSenders at once), which waits for room in the peer's queue
// between chunks, and reports the snapshot to raft once the last chunk is
// queued (or failed: the link went down, or no room for chunkTimeout).
// The receiver appends the chunks of one id from its peer in order (one
// link is one ordered stream) and steps the whole payload once the last
// has come; a chunk out of order, or of another id, drops what it held
// (the sender's raft sends the snapshot again). At most MaxAssembled bytes
// are held per peer.

const (
	chunkMarker = 0xFFFFFFFD
	chunkHeader = 4 + 8 + 4 + 4

	// ChunkSize is the largest RAFT payload sent whole, and the size of
	// the chunks of a larger one.
	ChunkSize = 1 << 20
	// MaxAssembled bounds the bytes of one payload a peer may send in
	// chunks (a snapshot larger than this cannot be received).
	MaxAssembled = 1 << 30
	// maxChunkSenders bounds the chunked payloads being sent at once.
	maxChunkSenders = 4
	// chunkTimeout bounds the wait for room in a peer's queue.
	chunkTimeout = 30 * time.Second
	// chunkRetry is the wait between two tries when the queue is full.
	chunkRetry = 5 * time.Millisecond
)

// chunk is one piece of a chunked payload; data is a view.
type chunk struct {
	id         uint64
	seq, total uint32
	data       []byte
}

func appendChunk(dst []byte, c chunk) []byte {
	dst = binary.BigEndian.AppendUint32(dst, chunkMarker)
	dst = binary.BigEndian.AppendUint64(dst, c.id)
	dst = binary.BigEndian.AppendUint32(dst, c.seq)
	dst = binary.BigEndian.AppendUint32(dst, c.total)
	return append(dst, c.data...)
}

func isChunk(b []byte) bool { return len(b) >= 4 && binary.BigEndian.Uint32(b) == chunkMarker }

// decodeChunk parses a chunk. It never panics.
func decodeChunk(b []byte) (chunk, error) {
	if len(b) < chunkHeader || !isChunk(b) {
		return chunk{}, fmt.Errorf("%w: chunk of %d bytes", ErrBadMessage, len(b))
	}
	c := chunk{id: binary.BigEndian.Uint64(b[4:]), seq: binary.BigEndian.Uint32(b[12:]),
		total: binary.BigEndian.Uint32(b[16:]), data: b[chunkHeader:]}
	if c.total == 0 || c.seq >= c.total {
		return chunk{}, fmt.Errorf("%w: chunk %d of %d", ErrBadMessage, c.seq, c.total)
	}
	return c, nil
}

// assembly is a chunked payload being received from one peer.
type assembly struct {
	id          uint64
	next, total uint32
	buf         []byte
}

// assembler holds the chunked payloads being received, one per peer.
// Safe for concurrent use.
type assembler struct {
	mu    sync.Mutex
	peers map[string]*assembly
	max   int
}

// add takes a chunk from peer from; it returns the whole payload once its
// last chunk came, else nil. A chunk that does not follow drops what the
// peer had sent; err says why (nil for a payload still incomplete).
func (a *assembler) add(from string, c chunk) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.peers[from]
	if c.seq == 0 {
		cur = &assembly{id: c.id, total: c.total}
		a.peers[from] = cur
	}
	if cur == nil || cur.id != c.id || cur.next != c.seq || cur.total != c.total {
		delete(a.peers, from)
		return nil, fmt.Errorf("%w: chunk %d of %d (id %d) out of order", ErrBadMessage, c.seq, c.total, c.id)
	}
	if len(cur.buf)+len(c.data) > a.max {
		delete(a.peers, from)
		return nil, fmt.Errorf("%w: chunked payload beyond %d bytes", ErrBadMessage, a.max)
	}
	cur.buf = append(cur.buf, c.data...)
	cur.next++
	if cur.next < cur.total {
		return nil, nil
	}
	delete(a.peers, from)
	return cur.buf, nil
}

// sendChunked queues payload (m's, to peer to) in chunks on a goroutine of
// its own and reports the snapshot's outcome to the engine; it reports
// failure at once when maxChunkSenders are busy or the Net is closed.
func (n *Net) sendChunked(t *peer.Transport, e *replica.Engine, to string, m replica.Message, payload []byte) {
	n.chunks.Lock()
	ok := !n.chunks.closed && n.chunks.busy < maxChunkSenders
	if ok {
		n.chunks.busy++
	}
	n.chunks.Unlock()
	if !ok {
		n.chunked(e, to, m, len(payload), errors.New("too many chunked payloads being sent"))
		return
	}
	id := n.chunkID.Add(1)
	n.chunks.g.Go("rlog-snapshot-send", func() error {
		defer func() {
			n.chunks.Lock()
			n.chunks.busy--
			n.chunks.Unlock()
		}()
		n.chunked(e, to, m, len(payload), n.queueChunks(t, to, id, payload))
		return nil
	})
}

// chunked counts, logs and reports to the engine the outcome of sending a
// chunked payload of size bytes, m's, to peer to.
func (n *Net) chunked(e *replica.Engine, to string, m replica.Message, size int, err error) {
	snap := m.Msg.GetType() == pb.MessageType_MsgSnap
	if err != nil {
		n.dropped.Inc()
	} else {
		n.sent.Inc()
	}
	if snap {
		n.snaps.Inc()
		if err != nil {
			n.snapFailures.Inc()
		}
		n.logSnapshot(to, m, size, err)
	}
	if e == nil {
		return
	}
	if err != nil {
		e.ReportUnreachable(m.Partition, m.Msg.GetTo())
	}
	if snap {
		e.ReportSnapshot(m.Partition, m.Msg.GetTo(), err != nil)
	}
}

// queueChunks queues payload's chunks in order, waiting for room.
func (n *Net) queueChunks(t *peer.Transport, to string, id uint64, payload []byte) error {
	total := uint32((len(payload) + ChunkSize - 1) / ChunkSize)
	deadline := time.Now().Add(chunkTimeout)
	var buf []byte
	for seq := uint32(0); seq < total; seq++ {
		data := payload[int(seq)*ChunkSize : min(len(payload), int(seq+1)*ChunkSize)]
		buf = appendChunk(buf[:0], chunk{id: id, seq: seq, total: total, data: data})
		for {
			err := t.Send(to, frame.TypeRaft, buf)
			if err == nil {
				break
			}
			if !errors.Is(err, peer.ErrQueueFull) || time.Now().After(deadline) {
				return fmt.Errorf("chunk %d of %d: %w", seq, total, err)
			}
			select {
			case <-n.chunks.quit:
				return fmt.Errorf("chunk %d of %d: %w", seq, total, peer.ErrClosed)
			case <-time.After(chunkRetry):
			}
		}
	}
	return nil
}

// Close stops sending chunked snapshots and waits for their goroutines
// (their snapshots are reported failed). Idempotent.
func (n *Net) Close() {
	n.chunks.Lock()
	if !n.chunks.closed {
		n.chunks.closed = true
		close(n.chunks.quit)
	}
	n.chunks.Unlock()
	_ = n.chunks.g.Wait()
}
