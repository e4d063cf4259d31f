package netio

import (
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// transport is the socket side of a Conn. netio has two: gnetConn, served
// by a gnet event loop (plaintext), and tlsConn, served by a reader and a
// writer goroutine over crypto/tls. Everything else — the connection
// protocol (protocol.go), the write queue and its limits (conn.go),
// admission, deadlines, parking and shutdown (server.go, housekeep.go) —
// is written once, against this interface and inbuf:
//
//	inbound:  transport reads ─► inbuf ─► Conn.consume ─► ring (TryPush)
//	                                          │ full: park; transport.wake resumes
//	outbound: Conn.Send ─► queue ─► transport.kick ─► Conn.takeOut ─► socket
//
// The methods are called from any goroutine and must not block.
type transport interface {
	// kick asks for the queue to be written (Conn.takeOut) soon, on the
	// goroutine that owns the connection's writes.
	kick()
	// wake asks the reading side to offer its held-back frames to the ring
	// again (the ring has room).
	wake()
	// drain is Stop's request: write everything queued, then ERROR
	// SHUTTING_DOWN, then close. It is repeated until the connection is
	// gone and must be idempotent.
	drain()
	// closing is called, with Conn.mu held, when the connection stops
	// accepting Send; it must take no netio lock.
	closing()
	// probe asks for Conn.wrote to be called with the bytes the transport
	// holds unwritten, when it cannot report them itself (gnet).
	probe()
}

// inbuf is the inbound half of a transport: bytes received on a connection
// and not yet handed on, used only by the goroutine reading it. gnet.Conn
// provides exactly these methods on its event loop; tlsConn has its own
// buffer (tlsInbuf). Peek(n) with 0 < n ≤ InboundBuffered() returns n bytes,
// valid until the next Discard or read; Discard(-1) drops everything.
type inbuf interface {
	InboundBuffered() int
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// register admits c, whose transport is set, or reports the code to reject
// it with (frame.CodeOK when admitted): the server is stopping, it already
// serves MaxConns connections over all its listeners or MaxConnsPerIP from
// c's address, or c's address is penalized (penalty.go) — then until is
// when its penalty ends, and the refusal may be held (refusal.go).
func (s *Server) register(c *Conn) (code frame.Code, msg string, until time.Time) {
	s.metrics.accepted.Inc()
	if until, code, msg := s.refusePenalized(c); code != frame.CodeOK {
		return code, msg, until
	}
	s.conns.Lock()
	defer s.conns.Unlock()
	if s.draining.Load() {
		s.metrics.closed.Inc()
		return frame.CodeShuttingDown, "server is stopping", time.Time{}
	}
	if len(s.conns.m) >= s.opts.MaxConns {
		s.metrics.closed.Inc()
		s.opts.Logger.Debug("netio: connection rejected: too many connections", "remote", c.remote, "tls", c.tls)
		return frame.CodeTooManyConnections, "server is at its connection limit", time.Time{}
	}
	if !s.admitAddrLocked(c) {
		s.metrics.closed.Inc()
		s.opts.Logger.Debug("netio: connection rejected: too many connections from its address", "remote", c.remote, "tls", c.tls)
		return frame.CodeTooManyConnections, fmt.Sprintf("too many connections from %s (at most %d per address)",
			addrKey(c.remote), s.opts.MaxConnsPerIP), time.Time{}
	}
	s.conns.m[c.id] = c
	s.opts.Logger.Debug("netio: connection opened", "conn", c.id, "remote", c.remote, "tls", c.tls)
	return frame.CodeOK, "", time.Time{}
}

// forget runs once per registered connection when it is gone, on the
// goroutine that read it: it stops Send, forgets the connection and calls
// the OnClose hook.
func (s *Server) forget(c *Conn, err error) {
	c.released()
	s.unpark(c)
	s.conns.Lock()
	delete(s.conns.m, c.id)
	s.forgetAddrLocked(c)
	if len(s.conns.m) == 0 && s.conns.empty != nil {
		select {
		case <-s.conns.empty:
		default:
			close(s.conns.empty)
		}
	}
	s.conns.Unlock()
	s.metrics.closed.Inc()
	s.opts.Logger.Debug("netio: connection closed", "conn", c.id, "client", c.ClientID(), "tls", c.tls, "err", err)
	s.opts.Hooks.OnClose(c)
}

// refusePenalized reports TOO_MANY_CONNECTIONS, why, and until when, when
// c's address is penalized; it takes the penalty table's lock, not s.conns.
func (s *Server) refusePenalized(c *Conn) (time.Time, frame.Code, string) {
	k, now := addrKey(c.remote), time.Now()
	until, refused := s.penalties.refused(k, now)
	if !refused || s.draining.Load() {
		return time.Time{}, frame.CodeOK, ""
	}
	s.metrics.penalizedRefused.Inc()
	s.metrics.closed.Inc()
	s.opts.Logger.Debug("netio: connection rejected: address penalized", "remote", c.remote, "tls", c.tls, "until", until)
	return until, frame.CodeTooManyConnections, penalizedMessage(k, until, now)
}
