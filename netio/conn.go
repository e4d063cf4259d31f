package netio

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"

	"github.com/swarmmq/swarmmq/frame"
)

// Conn is one client connection, over plaintext TCP (a gnet event loop) or
// TLS (a reader and a writer goroutine); the two behave the same to the
// node, see the package documentation.
//
// Send, SendError, Close and the getters are safe for concurrent use from
// any goroutine. Writes are queued in netio's per-connection buffer and
// written by the connection's transport (its event loop or its writer
// goroutine), in the order they were queued; many queued replies go out in
// one write.
type Conn struct {
	srv      *Server
	tr       transport
	id       uint64
	remote   net.Addr
	openedAt int64 // unix ns
	tls      bool

	clientID   atomic.Pointer[string]
	value      atomic.Pointer[any]
	maxFrame   atomic.Int64  // negotiated by HELLO
	credits    atomic.Uint32 // negotiated by HELLO
	handshaken atomic.Bool
	producer   atomic.Uint64 // producer session, 0 until PRODUCER (see Producer)
	lastActive atomic.Int64  // unix ns of the last whole frame received (or last reply, see idle.go)
	pingedAt   atomic.Int64  // the lastActive the server last PINGed the connection at (idle.go)
	held       atomic.Bool   // a frame is held back by a full ring
	closing    atomic.Bool   // mirrors mu.closing for Closed

	// Flow control and memory (budget.go).
	outstanding atomic.Int64 // requests handed on and not yet answered
	pipeBytes   atomic.Int64 // mirrors mu.pipe
	outBytes    atomic.Int64 // mirrors mu.acct
	progressAt  atomic.Int64 // unix ns of the last write progress, or when replies started waiting
	waitBytes   atomic.Bool  // mirrors loop.waitBytes

	mu struct {
		sync.Mutex
		out        *bytebufferpool.ByteBuffer // queued writes, nil when empty
		scheduled  bool                       // a flush is requested from the transport
		closing    bool                       // no more Send; close after flush
		closeAfter bool                       // close once out is written
		pipe       int64                      // bytes of frames handed on and not released
		trHeld     int64                      // bytes the transport holds unwritten
		acct       int64                      // outbound bytes counted in the budget: out + trHeld
		gone       bool                       // released: the budget no longer counts c
	}

	// loop is state only the goroutine reading the connection touches:
	// its gnet event loop, or its TLS reader.
	loop struct {
		closed    bool  // the connection is gone (released ran)
		blocked   bool  // a frame is held back by a full ring
		need      int   // length of the partial frame at the head, once known
		maxFrame  int   // inbound limit: MaxFrame, then the negotiated value
		buffered  int   // gnet: InboundBuffered when OnTraffic last returned
		consumed  bool  // this pass handled at least one frame
		inbound   int64 // bytes counted in the budget's inbound
		waitBytes bool  // held back for bytes (counted in budget.waiting)
		// backlog holds requests received, counted against the credits and
		// not yet handed on (the ring was full, or bytes ran short); blocked
		// is set while it is not empty.
		backlog      []Inbound
		backlogBytes int
	}
}

// newConn returns a connection opened at now (unix ns); the caller sets tr
// before the connection is registered.
func newConn(s *Server, remote net.Addr, now int64) *Conn {
	c := &Conn{
		srv:      s,
		id:       s.nextID.Add(1),
		remote:   remote,
		openedAt: now,
	}
	c.lastActive.Store(now)
	c.maxFrame.Store(int64(s.opts.MaxFrame))
	c.loop.maxFrame = s.opts.MaxFrame
	return c
}

// ID returns the connection's id, unique within its Server.
func (c *Conn) ID() uint64 { return c.id }

// ClientID returns the client id from HELLO ("" before HELLO).
func (c *Conn) ClientID() string {
	if p := c.clientID.Load(); p != nil {
		return *p
	}
	return ""
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// TLS reports whether the connection came through the TLS listener.
func (c *Conn) TLS() bool { return c.tls }

// MaxFrame returns the largest frame, header included, either side may send
// on this connection: the server's MaxFrame until HELLO, then the value
// HELLO_OK granted. Replies built for this connection must respect it.
func (c *Conn) MaxFrame() int { return int(c.maxFrame.Load()) }

// Credits returns the requests the client may have outstanding, as granted
// by HELLO_OK (0 before HELLO).
func (c *Conn) Credits() uint32 { return c.credits.Load() }

// SetValue stores v in the connection's slot for the node's own state.
func (c *Conn) SetValue(v any) { c.value.Store(&v) }

// Value returns what SetValue stored, or nil.
func (c *Conn) Value() any {
	if p := c.value.Load(); p != nil {
		return *p
	}
	return nil
}

// Closed reports whether the connection is closed or closing: Send and
// SendError fail from then on.
func (c *Conn) Closed() bool { return c.closing.Load() }

// Send queues b, one or more whole frames, for writing. Send copies b, so the
// caller may reuse it at once. It fails with ErrClosed once the connection
// is closing. If the bytes queued for this connection would exceed
// MaxOutbound, the client is not reading its replies: the queue is dropped,
// ERROR SLOW_CONSUMER is sent, the connection is closed, and Send returns
// ErrSlowConsumer.
func (c *Conn) Send(b []byte) error {
	c.mu.Lock()
	if c.mu.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	c.outstanding.Add(-replies(b))
	if c.mu.acct+int64(len(b)) > int64(c.srv.opts.MaxOutbound) {
		c.slowConsumerLocked()
		kick := c.scheduleLocked()
		c.mu.Unlock()
		c.kick(kick)
		return ErrSlowConsumer
	}
	out := c.outLocked()
	out.B = append(out.B, b...)
	c.accountOutLocked()
	kick := c.scheduleLocked()
	c.mu.Unlock()
	c.kick(kick)
	c.replied()
	return nil
}

// SendError queues an ERROR frame with the given correlation id (0 for an
// error about the connection rather than one request). If code.Fatal(), the
// connection stops accepting Send and is closed once the frame is written.
// It fails with ErrClosed once the connection is closing.
func (c *Conn) SendError(corr uint64, code frame.Code, msg string) error {
	c.mu.Lock()
	if c.mu.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	c.outstanding.Add(-1)
	out := c.outLocked()
	out.B = frame.AppendError(out.B, corr, code, msg)
	c.accountOutLocked()
	if code.Fatal() {
		c.closeLocked()
	}
	kick := c.scheduleLocked()
	c.mu.Unlock()
	c.kick(kick)
	c.replied()
	return nil
}

// Close stops the connection accepting Send, lets what is queued be
// written, then closes it. It is idempotent and does not wait.
func (c *Conn) Close() {
	c.mu.Lock()
	if c.mu.closing {
		c.mu.Unlock()
		return
	}
	c.closeLocked()
	kick := c.scheduleLocked()
	c.mu.Unlock()
	c.kick(kick)
}

func (c *Conn) closeLocked() {
	c.mu.closing = true
	c.mu.closeAfter = true
	c.closing.Store(true)
	c.tr.closing()
}

// slowConsumerLocked drops the queue and queues ERROR SLOW_CONSUMER instead.
func (c *Conn) slowConsumerLocked() {
	c.srv.metrics.slowConsumers.Inc()
	out := c.outLocked()
	out.B = frame.AppendError(out.B[:0], 0, frame.CodeSlowConsumer, "client does not read its replies")
	c.accountOutLocked()
	c.closeLocked()
}

func (c *Conn) outLocked() *bytebufferpool.ByteBuffer {
	if c.mu.out == nil {
		c.mu.out = c.srv.outBufs.Get()
	}
	return c.mu.out
}

// scheduleLocked reports whether the caller must ask the transport for a
// flush (Conn.kick) once it has unlocked.
func (c *Conn) scheduleLocked() bool {
	if c.mu.scheduled {
		return false
	}
	c.mu.scheduled = true
	return true
}

func (c *Conn) kick(kick bool) {
	if kick {
		c.tr.kick()
	}
}

// flushSoon asks the transport to write what the reading side queued
// (HELLO_OK, PONG, ERROR), unless a flush is already requested.
func (c *Conn) flushSoon() {
	c.mu.Lock()
	kick := (c.mu.out != nil || c.mu.closeAfter) && c.scheduleLocked()
	c.mu.Unlock()
	c.kick(kick)
}

// takeOut removes the queue for the transport to write and reports whether
// the connection must be closed once it is written. outbound is what the
// transport still holds unwritten: if it plus the queue exceed MaxOutbound,
// the queue is replaced with ERROR SLOW_CONSUMER.
func (c *Conn) takeOut(outbound int) (out *bytebufferpool.ByteBuffer, closeNow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out = c.mu.out
	c.mu.out = nil
	c.mu.scheduled = false
	if out != nil && !c.mu.closeAfter && outbound+len(out.B) > c.srv.opts.MaxOutbound {
		c.mu.out = out
		c.slowConsumerLocked()
		out, c.mu.out = c.mu.out, nil
	}
	// The transport now holds out as well as outbound.
	c.mu.trHeld = int64(outbound)
	if out != nil {
		c.mu.trHeld += int64(len(out.B))
	}
	c.accountOutLocked()
	return out, c.mu.closeAfter
}

// queued reports whether bytes wait to be written.
func (c *Conn) queued() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.out != nil
}

// reply queues a frame built by the reading side (HELLO_OK, PONG, ERROR);
// the transport flushes before it reads again.
func (c *Conn) reply(appendFrame func(dst []byte) []byte, fatal bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.outLocked()
	out.B = appendFrame(out.B)
	c.accountOutLocked()
	if fatal {
		c.closeLocked()
	}
}

// released runs when the connection is gone, on the goroutine that read
// it: no more writes, and the queue goes back.
func (c *Conn) released() {
	c.loop.closed = true
	c.stopWaitingForBytes()
	c.dropBacklog()
	c.setInbound(0)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.closing = true
	c.closing.Store(true)
	if c.mu.out != nil {
		c.srv.outBufs.Put(c.mu.out)
		c.mu.out = nil
	}
	c.forgetBytesLocked()
}
