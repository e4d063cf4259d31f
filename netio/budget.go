package netio

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Memory accounting: what netio holds for clients, per connection and for
// the whole server (see the package documentation, Memory).
const (
	// probeEvery is how often the housekeeper re-reads the bytes gnet holds
	// unwritten for connections with replies pending (gnet reports no
	// "written" event), checks write stalls, and retries connections held
	// back for bytes.
	probeEvery = 100 * time.Millisecond
	// tlsWriteChunk is the most bytes a TLS writer hands tls.Conn at once,
	// so that write progress is seen within a large queue.
	tlsWriteChunk = 256 << 10
)

// budget counts the bytes netio holds for clients, over every connection.
// Its counters are atomic; it is safe for concurrent use.
type budget struct {
	limit    int64         // Options.MaxBuffered
	inbound  atomic.Int64  // received and not yet handed on
	pipeline atomic.Int64  // handed on and not yet released by the stages
	outbound atomic.Int64  // queued or held by the transport, not yet written
	waiting  atomic.Int64  // connections held back for bytes
	freed    chan struct{} // one slot: bytes were freed while connections wait
}

// spent reports whether the bytes that drain by themselves (requests in the
// pipeline, replies being written) have reached the limit.
func (b *budget) spent() bool { return b.pipeline.Load()+b.outbound.Load() >= b.limit }

// freedSome tells the housekeeper that bytes of c were freed, if a
// connection waits for them: c itself, or any once the budget has room.
func (b *budget) freedSome(c *Conn) {
	if b.waiting.Load() > 0 && (c.waitBytes.Load() || !b.spent()) {
		notify(b.freed)
	}
}

// replies counts the frames in b, whole frames back to back, that answer a
// request: PUBLISH_ACK, MESSAGES, ACK_OK, NACK_OK and ERROR.
func replies(b []byte) int64 {
	var n int64
	for len(b) >= frame.HeaderSize {
		size := int(binary.BigEndian.Uint32(b)) + 4
		if size < frame.HeaderSize || size > len(b) {
			return n
		}
		switch frame.Type(b[5]) {
		case frame.TypePublishAck, frame.TypeMessages, frame.TypeAckOK, frame.TypeNackOK, frame.TypeError:
			n++
		}
		b = b[size:]
	}
	return n
}

// overCredits reports whether one more request would take c above the
// credits HELLO_OK granted.
func (c *Conn) overCredits() bool {
	return c.outstanding.Load() >= int64(c.credits.Load())
}

// Backlogged reports whether c's replies not yet written (netio's queue
// plus what the transport holds) reach one frame of MaxFrame bytes (or
// half of MaxOutbound, if that is less): the socket has taken what it can
// and the client is not keeping up. The stages should build no more of its
// large replies (a FETCH's MESSAGES) until it drains: a client that never
// reads would otherwise have them read, encoded and copied only to be
// dropped with the connection (SLOW_CONSUMER), on the workers everyone
// shares, and held meanwhile in the heap everyone shares. A client that
// reads loses nothing: its socket's buffer is full, and the replies held
// here go out first. It is safe for concurrent use; a plaintext
// connection's unwritten bytes are re-read every probeEvery while replies
// wait (gnet reports no writes), so a connection that drained may report
// true for that long.
func (c *Conn) Backlogged() bool {
	return c.outBytes.Load() >= c.srv.backlogAt
}

// mayHandOn reports whether c may hand a request on: not while its own
// replies waiting to be written reach half of MaxOutbound, nor while its
// requests in the pipeline reach MaxPipeline (unless it has none there),
// and, while the server's budget is spent, only if c holds no bytes at all
// (so every connection can make progress, one request at a time).
func (c *Conn) mayHandOn() bool {
	s := c.srv
	out, pipe := c.outBytes.Load(), c.pipeBytes.Load()
	if out >= int64(s.opts.MaxOutbound/2) || pipe >= int64(s.opts.MaxPipeline) && pipe > 0 {
		return false
	}
	return out+pipe == 0 || !s.budget.spent()
}

// waitForBytes holds c back until bytes are freed: it parks c and reports
// whether c may go on after all (bytes were freed meanwhile).
func (c *Conn) waitForBytes() bool {
	s := c.srv
	if !c.loop.waitBytes {
		c.loop.waitBytes = true
		c.waitBytes.Store(true)
		s.budget.waiting.Add(1)
		s.metrics.byteWaits.Inc()
	}
	s.park(c)
	// Bytes freed between the check and park found nobody parked.
	if c.mayHandOn() {
		s.unpark(c)
		return true
	}
	return false
}

// stopWaitingForBytes ends c's wait for bytes, if it waits.
func (c *Conn) stopWaitingForBytes() {
	if c.loop.waitBytes {
		c.loop.waitBytes = false
		c.waitBytes.Store(false)
		c.srv.budget.waiting.Add(-1)
	}
}

// setInbound records that c's transport buffers n bytes received and not
// yet decoded (its backlog is added); only the goroutine reading c calls it.
func (c *Conn) setInbound(n int) {
	n += c.loop.backlogBytes
	if d := int64(n) - c.loop.inbound; d != 0 {
		c.loop.inbound = int64(n)
		c.srv.budget.inbound.Add(d)
	}
}

// handedOn accounts a frame of n bytes pushed to the ring.
func (c *Conn) handedOn(n int) {
	c.mu.Lock()
	c.mu.pipe += int64(n)
	c.pipeBytes.Store(c.mu.pipe)
	c.mu.Unlock()
	c.srv.budget.pipeline.Add(int64(n))
}

// releasedFrame accounts a frame of n bytes the stages are done with (the
// server counts it until then, also after c is gone).
func (c *Conn) releasedFrame(n int64) {
	c.mu.Lock()
	c.mu.pipe -= n
	c.pipeBytes.Store(c.mu.pipe)
	c.mu.Unlock()
	c.srv.budget.pipeline.Add(-n)
	c.srv.budget.freedSome(c)
}

// accountOutLocked re-counts c's outbound bytes (its queue plus what the
// transport holds unwritten) and reports whether it shrank. When replies
// start waiting, the write-stall clock starts.
func (c *Conn) accountOutLocked() (freed bool) {
	n := c.mu.trHeld
	if c.mu.out != nil {
		n += int64(len(c.mu.out.B))
	}
	d := n - c.mu.acct
	if d == 0 {
		return false
	}
	if c.mu.acct == 0 {
		c.progressAt.Store(time.Now().UnixNano())
	}
	c.mu.acct = n
	c.outBytes.Store(n)
	if !c.mu.gone {
		c.srv.budget.outbound.Add(d)
	}
	return d < 0
}

// wrote records, on the goroutine writing c, that the transport now holds
// held bytes unwritten; fewer than before is write progress.
func (c *Conn) wrote(held int64) {
	c.mu.Lock()
	if held < c.mu.trHeld {
		c.progressAt.Store(time.Now().UnixNano())
	}
	c.mu.trHeld = held
	freed := c.accountOutLocked()
	c.mu.Unlock()
	if freed {
		c.srv.budget.freedSome(c)
	}
}

// forgetBytesLocked takes the replies of a connection that is gone out of
// the server's accounts (its requests in the pipeline stay counted until
// the stages release them).
func (c *Conn) forgetBytesLocked() {
	c.mu.gone = true
	b := &c.srv.budget
	b.outbound.Add(-c.mu.acct)
	c.mu.acct, c.mu.trHeld = 0, 0
	c.outBytes.Store(0)
}

// stalled closes c with SLOW_CONSUMER: its replies made no write progress
// for WriteStallTimeout.
func (c *Conn) stalled() {
	c.mu.Lock()
	if c.mu.closing {
		c.mu.Unlock()
		return
	}
	c.srv.metrics.writeStalls.Inc()
	c.srv.opts.Logger.Debug("netio: write stall", "conn", c.id, "client", c.ClientID(), "pending", c.mu.acct)
	c.slowConsumerLocked()
	kick := c.scheduleLocked()
	c.mu.Unlock()
	c.kick(kick)
}

// checkWrites runs on the housekeeper every probeEvery: it closes the
// connections whose replies stalled, asks the others with replies pending
// to re-read what their transport holds, and retries the connections held
// back for bytes.
func (s *Server) checkWrites(now int64) {
	stall := s.opts.WriteStallTimeout.Nanoseconds()
	for _, c := range s.pendingWrites() {
		if now-c.progressAt.Load() >= stall {
			c.stalled()
			continue
		}
		c.tr.probe()
	}
	if s.budget.waiting.Load() > 0 {
		s.wakeParked()
	}
}

// pendingWrites returns the open connections with replies not yet written.
func (s *Server) pendingWrites() []*Conn {
	s.conns.Lock()
	defer s.conns.Unlock()
	var out []*Conn
	for _, c := range s.conns.m {
		if c.outBytes.Load() > 0 && !c.Closed() {
			out = append(out, c)
		}
	}
	return out
}
