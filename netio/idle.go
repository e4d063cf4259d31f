package netio

import (
	"net"
	"net/netip"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// The idle timeout and the per-address connection limit.
//
// A connection is idle when it has sent no whole frame for IdleTimeout
// and has no request outstanding: a request (a frame handed to the ring)
// counts from when its whole frame arrived until its reply is queued, so a
// FETCH held in a long poll keeps its connection open however long it
// waits, and the idle clock restarts when the last reply is queued. Bytes
// of a partial frame never count: a client that sends half a frame after
// HELLO is closed with IDLE_TIMEOUT like a silent one.

// Halfway through the idle timeout the server PINGs the connection (once
// per idle period, correlation id 0): a client that answers PONG, as the
// protocol asks of every client, restarts the clock and is never closed
// for being idle while it lives; one that does not is closed at the
// timeout as before.

// ping queues a keep-alive PING. It uses no credit and counts no reply.
func (c *Conn) ping() {
	c.mu.Lock()
	if c.mu.closing {
		c.mu.Unlock()
		return
	}
	out := c.outLocked()
	out.B = frame.AppendPing(out.B, 0)
	c.accountOutLocked()
	kick := c.scheduleLocked()
	c.mu.Unlock()
	c.kick(kick)
}

// replied restarts the idle clock once no request is outstanding; Send and
// SendError call it after counting their replies (budget.go).
func (c *Conn) replied() {
	if c.srv.opts.IdleTimeout > 0 && c.outstanding.Load() <= 0 {
		c.lastActive.Store(time.Now().UnixNano())
	}
}

// addrKey returns the IP address of a remote address, the key of the
// per-address connection count (IPv4-mapped IPv6 addresses count as IPv4).
// Addresses that are not IP (tests' pipes) share the zero key.
func addrKey(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// admitAddrLocked reports whether c's address may open one more
// connection, and counts it if so. The caller holds s.conns.
func (s *Server) admitAddrLocked(c *Conn) bool {
	if s.opts.MaxConnsPerIP < 0 {
		return true
	}
	k := addrKey(c.remote)
	if s.conns.perIP[k] >= s.opts.MaxConnsPerIP {
		s.metrics.refusedPerIP.Inc()
		return false
	}
	s.conns.perIP[k]++
	return true
}

// forgetAddrLocked undoes admitAddrLocked for a registered connection. The
// caller holds s.conns.
func (s *Server) forgetAddrLocked(c *Conn) {
	if s.opts.MaxConnsPerIP < 0 {
		return
	}
	k := addrKey(c.remote)
	if s.conns.perIP[k]--; s.conns.perIP[k] <= 0 {
		delete(s.conns.perIP, k)
	}
}
