package netio

import (
	"context"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/swarmmq/swarmmq/frame"
)

// handler is the gnet.EventHandler of the plaintext listener; every method
// but OnBoot and OnShutdown runs on the event loop that owns the
// connection.
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
// server is stopping or full, or its address is penalized (that refusal is
// held: refusal.go).
func (h *handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := h.s
	c := newConn(s, gc.RemoteAddr(), time.Now().UnixNano())
	c.tr = newGnetConn(c, gc)
	if code, msg, until := s.register(c); code != frame.CodeOK {
		if !until.IsZero() && s.refuseLater(gc, c.remote, until) {
			return nil, gnet.None
		}
		return frame.AppendError(nil, 0, code, msg), gnet.Close
	}
	gc.SetContext(c.tr)
	return nil, gnet.None
}

// OnClose forgets the connection and calls the OnClose hook.
func (h *handler) OnClose(gc gnet.Conn, err error) gnet.Action {
	switch g := gc.Context().(type) {
	case *gnetConn:
		h.s.forget(g.c, err)
	case *gnetRefusal:
		g.closed = true
	}
	return gnet.None
}

// OnTraffic runs the connection protocol over what gnet buffered. It never
// blocks: when the ring is full it leaves the remaining bytes in gnet's
// buffer and returns; the housekeeper wakes it when the ring has room.
func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	g, ok := gc.Context().(*gnetConn)
	if !ok {
		if _, held := gc.Context().(*gnetRefusal); held {
			_, _ = gc.Discard(-1) // not read: its refusal is held
			return gnet.None
		}
		return gnet.Close
	}
	c := g.c
	if buffered := gc.InboundBuffered(); buffered > c.loop.buffered {
		h.s.metrics.bytesIn.Add(buffered - c.loop.buffered)
	}
	closeNow := c.consume(gc)
	c.loop.buffered = gc.InboundBuffered()
	c.setInbound(c.loop.buffered)
	if g.flush() || closeNow {
		return gnet.Close
	}
	return gnet.None
}

// gnetConn is the transport of a plaintext connection: writes are flushed
// on the connection's event loop (gnet.EventLoop.Execute), reading resumes
// with gnet.Conn.Wake.
type gnetConn struct {
	c         *Conn
	gc        gnet.Conn     // only its concurrency-safe methods are used off the loop
	flushTask gnet.Runnable // runFlush, bound once
	drainTask gnet.Runnable // runDrain, bound once
	probeTask gnet.Runnable // runProbe, bound once
}

var _ transport = (*gnetConn)(nil)

func newGnetConn(c *Conn, gc gnet.Conn) *gnetConn {
	g := &gnetConn{c: c, gc: gc}
	g.flushTask = gnet.RunnableFunc(g.runFlush)
	g.drainTask = gnet.RunnableFunc(g.runDrain)
	g.probeTask = gnet.RunnableFunc(g.runProbe)
	return g
}

func (g *gnetConn) kick()    { g.c.srv.execute(g.gc, g.flushTask) }
func (g *gnetConn) drain()   { g.c.srv.execute(g.gc, g.drainTask) }
func (g *gnetConn) closing() {}
func (g *gnetConn) probe()   { g.c.srv.execute(g.gc, g.probeTask) }

// runProbe runs on the event loop: gnet writes its buffer when the socket
// is writable without telling anyone, so the bytes it still holds are read
// here.
func (g *gnetConn) runProbe(context.Context) error {
	if !g.c.loop.closed {
		g.c.wrote(int64(g.gc.OutboundBuffered()))
	}
	return nil
}

// wake makes gnet call OnTraffic for the connection again.
func (g *gnetConn) wake() {
	s := g.c.srv
	s.gnetMu.RLock()
	defer s.gnetMu.RUnlock()
	if s.gnetMu.down {
		return
	}
	_ = g.gc.Wake(nil)
}

// runFlush runs on the event loop: it writes the queue and closes the
// connection if asked to.
func (g *gnetConn) runFlush(context.Context) error {
	if g.c.loop.closed {
		return nil
	}
	if g.flush() {
		_ = g.gc.EventLoop().Close(g.gc)
	}
	return nil
}

// runDrain runs on the event loop during Stop: once everything queued has
// reached the socket, it sends ERROR SHUTTING_DOWN and closes.
func (g *gnetConn) runDrain(context.Context) error {
	if g.c.loop.closed {
		return nil
	}
	if !g.flush() && g.gc.OutboundBuffered() > 0 {
		return nil // not drained yet; Stop asks again
	}
	_, _ = g.gc.Write(frame.AppendError(nil, 0, frame.CodeShuttingDown, "server is stopping"))
	_ = g.gc.EventLoop().Close(g.gc)
	return nil
}

// flush writes the queue to gnet (which copies what the socket does not
// take at once) and reports whether the connection must now be closed. It
// runs on the event loop. If gnet's buffer plus the queue exceed
// MaxOutbound, the queue is replaced with ERROR SLOW_CONSUMER.
func (g *gnetConn) flush() (closeNow bool) {
	c := g.c
	out, closeNow := c.takeOut(g.gc.OutboundBuffered())
	if out == nil {
		return closeNow
	}
	if len(out.B) > 0 {
		n, _ := g.gc.Write(out.B) // on error gnet closes the connection
		c.srv.metrics.bytesOut.Add(n)
	}
	c.srv.outBufs.Put(out)
	c.wrote(int64(g.gc.OutboundBuffered()))
	return closeNow
}
