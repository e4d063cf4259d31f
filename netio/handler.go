package netio

import (
	"encoding/binary"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/swarmmq/swarmmq/frame"
)

// handler is the gnet.EventHandler; every method but OnBoot and OnShutdown
// runs on the event loop that owns the connection.
type handler struct {
	gnet.BuiltinEventEngine
	s *Server
}

// OnBoot hands the engine to Start.
func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	h.s.booted <- eng
	return gnet.None
}

// OnOpen admits a connection, or rejects it with an ERROR frame when the
// server is stopping or full.
func (h *handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := h.s
	s.metrics.accepted.Inc()
	if s.draining.Load() {
		s.metrics.closed.Inc()
		return frame.AppendError(nil, 0, frame.CodeShuttingDown, "server is stopping"), gnet.Close
	}
	s.conns.Lock()
	if len(s.conns.m) >= s.opts.MaxConns {
		s.conns.Unlock()
		s.metrics.closed.Inc()
		s.opts.Logger.Debug("netio: connection rejected: too many connections", "remote", gc.RemoteAddr())
		return frame.AppendError(nil, 0, frame.CodeTooManyConnections, "server is at its connection limit"), gnet.Close
	}
	c := newConn(s, gc, time.Now().UnixNano())
	s.conns.m[c.id] = c
	s.conns.Unlock()
	gc.SetContext(c)
	s.opts.Logger.Debug("netio: connection opened", "conn", c.id, "remote", c.remote)
	return nil, gnet.None
}

// OnClose forgets the connection and calls the OnClose hook.
func (h *handler) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.None // rejected in OnOpen
	}
	s := h.s
	c.released()
	s.unpark(c)
	s.conns.Lock()
	delete(s.conns.m, c.id)
	if len(s.conns.m) == 0 && s.conns.empty != nil {
		select {
		case <-s.conns.empty:
		default:
			close(s.conns.empty)
		}
	}
	s.conns.Unlock()
	s.metrics.closed.Inc()
	s.opts.Logger.Debug("netio: connection closed", "conn", c.id, "client", c.ClientID(), "err", err)
	s.opts.Hooks.OnClose(c)
	return gnet.None
}

// OnTraffic handles every whole frame buffered for the connection. It never
// blocks: when the ring is full it leaves the remaining bytes in gnet's
// buffer and returns; the housekeeper wakes it when the ring has room.
func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	s := h.s
	if buffered := gc.InboundBuffered(); buffered > c.loop.buffered {
		s.metrics.bytesIn.Add(buffered - c.loop.buffered)
	}
	if s.draining.Load() || c.Closed() {
		// Stopping, or closing after an error: what arrives is dropped.
		_, _ = gc.Discard(-1)
		c.loop.buffered = 0
		return c.flushAction()
	}
	c.loop.consumed = false
	if act := c.readFrames(gc); act != gnet.None {
		return act
	}
	if c.loop.consumed && s.opts.IdleTimeout > 0 {
		c.lastActive.Store(time.Now().UnixNano())
	}
	if n := gc.InboundBuffered(); n > s.opts.MaxInbound {
		return c.fail(gc, 0, frame.CodeFlowControl, "more unanswered requests than credits granted")
	}
	c.loop.buffered = gc.InboundBuffered()
	return c.flushAction()
}

// flushAction writes what the loop queued and tells gnet whether to close.
func (c *Conn) flushAction() gnet.Action {
	if c.flush() {
		return gnet.Close
	}
	return gnet.None
}

// readFrames decodes and handles whole frames until the buffer holds only
// part of one, or the ring is full.
func (c *Conn) readFrames(gc gnet.Conn) gnet.Action {
	for !c.loop.closed {
		avail := gc.InboundBuffered()
		n := min(avail, frame.HeaderSize)
		if c.loop.need > 0 {
			if avail < c.loop.need {
				return gnet.None
			}
			n = c.loop.need
		}
		if n == 0 {
			return gnet.None
		}
		b, _ := gc.Peek(n)
		f, size, err := frame.Decode(b, c.loop.maxFrame)
		if err != nil {
			return c.fail(gc, 0, frame.CodeOf(err), err.Error())
		}
		if size == 0 {
			if len(b) < 4 {
				return gnet.None
			}
			// The header checked out; wait for the whole frame.
			c.loop.need = frameLen(b)
			continue
		}
		c.loop.need = 0
		act, done := c.handle(gc, f, b[:size])
		if act != gnet.None || !done {
			return act
		}
		_, _ = gc.Discard(size)
		c.loop.consumed = true
		c.srv.metrics.framesIn.Inc()
	}
	return gnet.None
}

// frameLen returns the whole length of the frame whose header starts b; b
// holds at least the length field and frame.Decode has accepted it.
func frameLen(b []byte) int {
	return int(binary.BigEndian.Uint32(b)) + 4
}

// handle acts on one whole frame, raw. done == false means the ring is full
// and the frame must stay in gnet's buffer.
func (c *Conn) handle(gc gnet.Conn, f frame.Frame, raw []byte) (act gnet.Action, done bool) {
	switch {
	case !c.handshaken.Load():
		if f.Type != frame.TypeHello {
			return c.fail(gc, f.Corr, frame.CodeHandshakeRequired, "the first frame must be HELLO"), true
		}
		return c.hello(gc, f), true
	case f.Type == frame.TypeHello:
		c.srv.metrics.protocolErrors.Inc()
		c.reply(func(dst []byte) []byte {
			return frame.AppendError(dst, f.Corr, frame.CodeBadRequest, "HELLO was already received")
		}, frame.CodeBadRequest.Fatal())
		return gnet.None, true
	case f.Type == frame.TypePing:
		if err := frame.DecodeEmpty(f.Body); err != nil {
			return c.fail(gc, f.Corr, frame.CodeOf(err), err.Error()), true
		}
		c.reply(func(dst []byte) []byte { return frame.AppendPong(dst, f.Corr) }, false)
		return gnet.None, true
	}
	return gnet.None, c.push(raw)
}

// push copies raw into a pooled buffer and offers it to the ring. On a full
// ring the connection parks, and push reports false.
func (c *Conn) push(raw []byte) bool {
	s := c.srv
	buf := s.inBufs.Get()
	buf.B = append(buf.B[:0], raw...)
	in := Inbound{Conn: c, Buf: buf}
	if !s.out.TryPush(in) {
		s.park(c)
		// A pop between the failed push and park would have fired SpaceC
		// with nobody parked; trying again closes that gap.
		if !s.out.TryPush(in) {
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
func (c *Conn) hello(gc gnet.Conn, f frame.Frame) gnet.Action {
	opts := &c.srv.opts
	h, err := frame.DecodeHello(f.Body)
	if err != nil {
		return c.fail(gc, f.Corr, frame.CodeOf(err), err.Error())
	}
	maxFrame := opts.MaxFrame
	if h.MaxFrame != 0 {
		if h.MaxFrame < MinMaxFrame {
			return c.fail(gc, f.Corr, frame.CodeBadRequest, "max frame below 256")
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
	return gnet.None
}

// fail answers a protocol error: it queues ERROR (after what is already
// queued), drops the rest of the input, writes, and closes the connection.
func (c *Conn) fail(gc gnet.Conn, corr uint64, code frame.Code, msg string) gnet.Action {
	s := c.srv
	s.metrics.protocolErrors.Inc()
	s.opts.Logger.Debug("netio: protocol error", "conn", c.id, "code", code, "msg", msg)
	c.reply(func(dst []byte) []byte { return frame.AppendError(dst, corr, code, msg) }, true)
	_, _ = gc.Discard(-1)
	c.flush()
	return gnet.Close
}
