package netio

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// consume runs the connection protocol over the bytes in in: it is what
// happens whenever bytes arrive (or a held-back connection is woken), on
// either transport. It decodes and handles every whole frame, leaves a
// partial frame — or, when the ring is full, the held-back frame and all
// after it — in in, and reports whether the connection must be closed once
// its queue is written. Replies are queued, not written; the transport
// flushes afterwards.
func (c *Conn) consume(in inbuf) (closeNow bool) {
	s := c.srv
	if s.draining.Load() || c.Closed() {
		// Stopping, or closing after an error: what arrives is dropped.
		_, _ = in.Discard(-1)
		c.dropBacklog()
		c.stopWaitingForBytes()
		return false
	}
	c.loop.consumed = false
	c.drainBacklog()
	if c.readFrames(in) {
		return true
	}
	if c.loop.consumed && s.opts.IdleTimeout > 0 {
		c.lastActive.Store(time.Now().UnixNano())
	}
	if n := in.InboundBuffered(); n > s.opts.MaxInbound {
		c.penalize()
		return c.fail(in, 0, frame.CodeFlowControl, "more unanswered requests than credits granted")
	}
	return false
}

// readFrames decodes and handles whole frames until the buffer holds only
// part of one, or the ring is full.
func (c *Conn) readFrames(in inbuf) (closeNow bool) {
	for !c.loop.closed {
		avail := in.InboundBuffered()
		n := min(avail, frame.HeaderSize)
		if c.loop.need > 0 {
			if avail < c.loop.need {
				return false
			}
			n = c.loop.need
		}
		if n == 0 {
			return false
		}
		b, _ := in.Peek(n)
		f, size, err := frame.Decode(b, c.loop.maxFrame)
		if err != nil {
			return c.fail(in, 0, frame.CodeOf(err), err.Error())
		}
		if size == 0 {
			if len(b) < 4 {
				return false
			}
			// The header checked out; wait for the whole frame.
			c.loop.need = frameLen(b)
			continue
		}
		c.loop.need = 0
		if c.handle(in, f, b[:size]) {
			return true
		}
		_, _ = in.Discard(size)
		c.loop.consumed = true
		c.srv.metrics.framesIn.Inc()
	}
	return false
}

// frameLen returns the whole length of the frame whose header starts b; b
// holds at least the length field and frame.Decode has accepted it.
func frameLen(b []byte) int {
	return int(binary.BigEndian.Uint32(b)) + 4
}

// handle acts on one whole frame, raw, and reports whether the connection
// must be closed.
func (c *Conn) handle(in inbuf, f frame.Frame, raw []byte) (closeNow bool) {
	switch {
	case !c.handshaken.Load():
		if f.Type != frame.TypeHello {
			return c.fail(in, f.Corr, frame.CodeHandshakeRequired, "the first frame must be HELLO")
		}
		return c.hello(in, f)
	case f.Type == frame.TypeHello:
		c.srv.metrics.protocolErrors.Inc()
		c.reply(func(dst []byte) []byte {
			return frame.AppendError(dst, f.Corr, frame.CodeBadRequest, "HELLO was already received")
		}, frame.CodeBadRequest.Fatal())
		return false
	case f.Type == frame.TypePing:
		if err := frame.DecodeEmpty(f.Body); err != nil {
			return c.fail(in, f.Corr, frame.CodeOf(err), err.Error())
		}
		c.reply(func(dst []byte) []byte { return frame.AppendPong(dst, f.Corr) }, false)
		return false
	case f.Type == frame.TypePong:
		// The answer to the server's keep-alive PING (idle.go); like every
		// whole frame, it restarts the idle clock.
		if err := frame.DecodeEmpty(f.Body); err != nil {
			return c.fail(in, f.Corr, frame.CodeOf(err), err.Error())
		}
		return false
	case f.Type == frame.TypeProducer:
		return c.producerSession(in, f)
	case f.Type == frame.TypeMetadata:
		return c.metadata(in, f)
	case c.overCredits():
		c.srv.metrics.flowControl.Inc()
		c.penalize()
		return c.fail(in, f.Corr, frame.CodeFlowControl, "request exceeds the credits granted")
	}
	c.push(raw)
	return false
}

// push copies the request raw into a pooled buffer, counts it against the
// credits and hands it on, or, while earlier ones wait, the ring is full or
// c may not hand on for want of bytes (budget.go), appends it to c's
// backlog: the connection is then held back (parked) until woken.
func (c *Conn) push(raw []byte) {
	s := c.srv
	buf := s.inBufs.Get()
	buf.B = append(buf.B[:0], raw...)
	in := Inbound{Conn: c, Buf: buf, size: int32(len(raw))}
	// Counted before the push: the stages may answer it at once.
	c.outstanding.Add(1)
	if len(c.loop.backlog) == 0 && c.handOn(in) {
		return
	}
	c.loop.backlog = append(c.loop.backlog, in)
	c.loop.backlogBytes += len(raw)
	c.setHeld(true)
}

// handOn offers in to the ring. It reports false, with c parked, when c
// may not hand on for want of bytes or the ring is full.
func (c *Conn) handOn(in Inbound) bool {
	s := c.srv
	if !c.mayHandOn() && !c.waitForBytes() {
		return false
	}
	c.stopWaitingForBytes()
	c.handedOn(int(in.size))
	if s.out.TryPush(in) {
		return true
	}
	s.park(c)
	// A pop between the failed push and park would have fired SpaceC with
	// nobody parked; trying again closes that gap.
	if s.out.TryPush(in) {
		s.unpark(c)
		return true
	}
	c.releasedFrame(int64(in.size))
	return false
}

// drainBacklog hands on the backlog, in order, as far as it can.
func (c *Conn) drainBacklog() {
	for len(c.loop.backlog) > 0 {
		in := c.loop.backlog[0]
		if !c.handOn(in) {
			return
		}
		c.loop.backlog[0] = Inbound{}
		c.loop.backlog = c.loop.backlog[1:]
		c.loop.backlogBytes -= int(in.size)
	}
	c.loop.backlog = nil
	c.setHeld(false)
}

// dropBacklog discards the backlog: the connection is stopping or closed.
func (c *Conn) dropBacklog() {
	for _, in := range c.loop.backlog {
		c.srv.inBufs.Put(in.Buf)
	}
	c.loop.backlog, c.loop.backlogBytes = nil, 0
	c.setHeld(false)
}

// setHeld records whether c has requests held back.
func (c *Conn) setHeld(held bool) {
	if c.loop.blocked != held {
		c.loop.blocked = held
		c.held.Store(held)
	}
}

// hello negotiates the connection's limits and answers HELLO_OK.
//
// Credits granted = min(asked (0 = no wish), Credits, MaxInbound / max
// frame), at least 1: a client that keeps within its credits can then never
// have more than MaxInbound bytes waiting in netio, so only a client that
// ignores its credits meets FLOW_CONTROL.
func (c *Conn) hello(in inbuf, f frame.Frame) (closeNow bool) {
	opts := &c.srv.opts
	h, err := frame.DecodeHelloFlags(f.Body, f.Flags)
	if err != nil {
		return c.fail(in, f.Corr, frame.CodeOf(err), err.Error())
	}
	maxFrame := opts.MaxFrame
	if h.MaxFrame != 0 {
		if uint64(h.MaxFrame) < uint64(maxFrame) {
			return c.fail(in, f.Corr, frame.CodeBadRequest, maxFrameTooSmall(h.MaxFrame, maxFrame))
		}
		maxFrame = int(min(uint64(h.MaxFrame), uint64(maxFrame)))
	}
	credits := opts.Credits
	if h.Credits != 0 {
		credits = min(credits, h.Credits)
	}
	credits = max(1, min(credits, uint32(min(opts.MaxInbound/maxFrame, 1<<31))))
	id := string(h.ClientID)
	c.clientID.Store(&id)
	c.maxFrame.Store(int64(maxFrame))
	c.credits.Store(credits)
	c.loop.maxFrame = maxFrame
	c.handshaken.Store(true)
	var limits []frame.Limit
	if h.WantLimits {
		limits = c.srv.limits(maxFrame)
	}
	c.reply(func(dst []byte) []byte {
		return frame.AppendHelloOK(dst, f.Corr, frame.HelloOK{
			NodeID:     []byte(opts.NodeID),
			Credits:    credits,
			MaxFrame:   uint32(maxFrame),
			Partitions: opts.Partitions,
			Limits:     limits,
		})
	}, false)
	c.srv.opts.Logger.Debug("netio: handshake", "conn", c.id, "client", id, "credits", credits, "max_frame", maxFrame)
	return false
}

// limits lists the limits of a connection whose max frame is maxFrame for
// HELLO_OK (frame.FlagLimits): netio's own, then Options.Limits.
func (s *Server) limits(maxFrame int) []frame.Limit {
	o := &s.opts
	ms := func(d time.Duration) uint64 { return uint64(max(d, 0) / time.Millisecond) }
	return append([]frame.Limit{
		{ID: frame.LimitIdleTimeoutMS, Value: ms(o.IdleTimeout)},
		{ID: frame.LimitHandshakeTimeoutMS, Value: ms(o.HandshakeTimeout)},
		{ID: frame.LimitMaxMessage, Value: uint64(maxFrame - frame.DeliveryOverhead)},
		{ID: frame.LimitMaxBatch, Value: uint64(o.MaxFrame / frame.MessageHeaderSize)},
		{ID: frame.LimitWriteStallTimeoutMS, Value: ms(o.WriteStallTimeout)},
		{ID: frame.LimitMaxOutbound, Value: uint64(o.MaxOutbound)},
	}, o.Limits...)
}

// maxFrameTooSmall is the message refusing a HELLO whose max_frame asked
// is below the server's max frame: the largest message the node accepts
// is delivered in a MESSAGES frame of exactly the server's max frame
// (frame.DeliveryOverhead bytes more than the message), so a connection
// with a smaller limit could meet a message it can never receive.
func maxFrameTooSmall(asked uint32, server int) string {
	return fmt.Sprintf("max_frame %d in HELLO is below this node's max frame %d: "+
		"messages of up to %d bytes are delivered in frames of up to %d bytes; send max_frame 0 (no limit of your own) or at least %d",
		asked, server, server-frame.DeliveryOverhead, server, server)
}

// fail answers a protocol error: it queues ERROR (after what is already
// queued) and drops the rest of the input; the caller's transport writes
// and closes. It always reports true.
func (c *Conn) fail(in inbuf, corr uint64, code frame.Code, msg string) (closeNow bool) {
	s := c.srv
	s.metrics.protocolErrors.Inc()
	s.opts.Logger.Debug("netio: protocol error", "conn", c.id, "code", code, "msg", msg)
	c.reply(func(dst []byte) []byte { return frame.AppendError(dst, corr, code, msg) }, true)
	_, _ = in.Discard(-1)
	return true
}
