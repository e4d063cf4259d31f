package netio

import (
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// housekeep is netio's own goroutine: it wakes connections held back by a
// full ring when the ring has room again, closes connections whose
// handshake or idle deadline has passed, and answers held refusals.
func (s *Server) housekeep() error {
	tick := time.NewTicker(s.tickEvery)
	defer tick.Stop()
	probe := time.NewTicker(probeEvery)
	defer probe.Stop()
	for {
		select {
		case <-s.out.SpaceC():
			s.wakeParked()
		case <-s.budget.freed:
			s.wakeParked()
		case now := <-probe.C:
			s.checkWrites(now.UnixNano())
			s.answerRefusals(now.UnixNano())
		case now := <-tick.C:
			for _, e := range s.expired(now.UnixNano()) {
				if e.code == frame.CodeOK {
					e.c.ping()
					continue
				}
				_ = e.c.SendError(0, e.code, e.msg)
			}
		case <-s.quit:
			return nil
		}
	}
}

// park records that c holds a frame the ring had no room for. The caller
// must TryPush once more after parking, so a pop between its failed push and
// park cannot be missed.
func (s *Server) park(c *Conn) {
	s.parked.Lock()
	s.parked.m[c] = struct{}{}
	s.parked.Unlock()
}

func (s *Server) unpark(c *Conn) {
	s.parked.Lock()
	delete(s.parked.m, c)
	s.parked.Unlock()
}

// wakeParked wakes every parked connection; each retries its held frames on
// its own event loop, and parks again if the ring is full again.
func (s *Server) wakeParked() {
	s.parked.Lock()
	if len(s.parked.m) == 0 {
		s.parked.Unlock()
		return
	}
	conns := make([]*Conn, 0, len(s.parked.m))
	for c := range s.parked.m {
		conns = append(conns, c)
	}
	clear(s.parked.m)
	s.parked.Unlock()
	for _, c := range conns {
		c.tr.wake()
	}
}

// expiry is a connection past one of its deadlines.
type expiry struct {
	c    *Conn
	code frame.Code // CodeOK: not expired, PING it (halfway through its idle timeout)
	msg  string
}

// expired returns the connections past a deadline at now (unix ns): no HELLO
// within HandshakeTimeout, or, with IdleTimeout set, no whole frame received,
// no request outstanding and nothing held back for IdleTimeout (idle.go);
// and, with code CodeOK, those idle for half of it, to be PINGed once. It only reads clocks stored by the event
// loops, so tests can call it with any now.
func (s *Server) expired(now int64) []expiry {
	hs, idle := s.opts.HandshakeTimeout.Nanoseconds(), s.opts.IdleTimeout.Nanoseconds()
	s.conns.Lock()
	defer s.conns.Unlock()
	var out []expiry
	for _, c := range s.conns.m {
		switch {
		case c.Closed():
		case !c.handshaken.Load():
			if now-c.openedAt >= hs {
				out = append(out, expiry{c, frame.CodeHandshakeTimeout, "no HELLO within " + s.opts.HandshakeTimeout.String()})
			}
		case idle > 0 && !c.held.Load() && c.outstanding.Load() <= 0 && now-c.lastActive.Load() >= idle:
			out = append(out, expiry{c, frame.CodeIdleTimeout, "no frame received for " + s.opts.IdleTimeout.String()})
		case idle > 0 && !c.held.Load() && c.outstanding.Load() <= 0 && now-c.lastActive.Load() >= idle/2:
			if last := c.lastActive.Load(); c.pingedAt.Swap(last) != last {
				out = append(out, expiry{c: c, code: frame.CodeOK})
			}
		}
	}
	return out
}
