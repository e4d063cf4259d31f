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
		if c.loop.blocked {
			c.loop.blocked = false
			c.held.Store(false)
		}
		return false
	}
	c.loop.consumed = false
	if c.readFrames(in) {
		return true
	}
	if c.loop.consumed && s.opts.IdleTimeout > 0 {
		c.lastActive.Store(time.Now().UnixNano())
	}
	if n := in.InboundBuffered(); n > s.opts.MaxInbound {
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
		closeNow, done := c.handle(in, f, b[:size])
		if closeNow || !done {
			return closeNow
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

// handle acts on one whole frame, raw. done == false means the ring is full
// and the frame must stay in the inbound buffer.
func (c *Conn) handle(in inbuf, f frame.Frame, raw []byte) (closeNow, done bool) {
	switch {
	case !c.handshaken.Load():
		if f.Type != frame.TypeHello {
			return c.fail(in, f.Corr, frame.CodeHandshakeRequired, "the first frame must be HELLO"), true
		}
		return c.hello(in, f), true
	case f.Type == frame.TypeHello:
		c.srv.metrics.protocolErrors.Inc()
		c.reply(func(dst []byte) []byte {
			return frame.AppendError(dst, f.Corr, frame.CodeBadRequest, "HELLO was already received")
		}, frame.CodeBadRequest.Fatal())
		return false, true
	case f.Type == frame.TypePing:
		if err := frame.DecodeEmpty(f.Body); err != nil {
			return c.fail(in, f.Corr, frame.CodeOf(err), err.Error()), true
		}
		c.reply(func(dst []byte) []byte { return frame.AppendPong(dst, f.Corr) }, false)
		return false, true
	}
	return false, c.push(raw)
}

// push copies raw into a pooled buffer and offers it to the ring. On a full
// ring the connection parks, and push reports false.
func (c *Conn) push(raw []byte) bool {
	s := c.srv
	buf := s.inBufs.Get()
	buf.B = append(buf.B[:0], raw...)
	in := Inbound{Conn: c, Buf: buf}
	c.requestIn()
	if !s.out.TryPush(in) {
		s.park(c)
		// A pop between the failed push and park would have fired SpaceC
		// with nobody parked; trying again closes that gap.
		if !s.out.TryPush(in) {
			c.requestBack()
			s.inBufs.Put(buf)
			c.loop.blocked = true
			c.held.Store(true)
			return false
		}
		s.unpark(c)
	}
	if c.loop.blocked {
		c.loop.blocked = false
		c.held.Store(false)
	}
	return true
}

// hello negotiates the connection's limits and answers HELLO_OK.
//
// Credits granted = min(asked (0 = no wish), Credits, MaxInbound / max
// frame), at least 1: a client that keeps within its credits can then never
// have more than MaxInbound bytes waiting in netio, so only a client that
// ignores its credits meets FLOW_CONTROL.
func (c *Conn) hello(in inbuf, f frame.Frame) (closeNow bool) {
	opts := &c.srv.opts
	h, err := frame.DecodeHello(f.Body)
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
	c.reply(func(dst []byte) []byte {
		return frame.AppendHelloOK(dst, f.Corr, frame.HelloOK{
			NodeID:     []byte(opts.NodeID),
			Credits:    credits,
			MaxFrame:   uint32(maxFrame),
			Partitions: opts.Partitions,
		})
	}, false)
	c.srv.opts.Logger.Debug("netio: handshake", "conn", c.id, "client", id, "credits", credits, "max_frame", maxFrame)
	return false
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
