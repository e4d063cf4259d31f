package netio

import (
	"context"
	"net"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/swarmmq/swarmmq/frame"
)

// Refusals of penalized addresses are held, not answered at once.
//
// A connection from an address penalized after FLOW_CONTROL (penalty.go)
// is refused with ERROR TOO_MANY_CONNECTIONS. Answered at once, a client
// that redials at once costs the node an accept, a registration with an
// event loop, a write and a close each time — thousands a second from one
// client program, the larger part of the node's CPU (docs/perf.md, the
// memory soak) — and refusing it sooner tells it nothing it can use. So
// the refusal is held: the connection is accepted and not read, and its
// ERROR is written when the penalty ends or refuseHold after the accept,
// whichever comes first. A client that waits for the answer to its HELLO,
// as every client does, then dials at most once per refuseHold for each
// connection it holds open. At most maxHeldRefusals are held at once (they
// hold file descriptors); beyond that a refusal is answered at once. The
// housekeeper answers them every probeEvery, so an answer comes up to that
// much after its time.
const (
	refuseHold      = time.Second
	maxHeldRefusals = 256
)

// heldRefusal is a refusal waiting for its time.
type heldRefusal struct {
	at     int64  // unix ns: answer from then on
	answer func() // writes the ERROR and closes, on the connection's goroutine
}

// refusalDelay returns how long to hold the refusal of a connection from an
// address penalized until until, accepted at now.
func refusalDelay(until, now time.Time) time.Duration {
	return min(max(until.Sub(now), 0), refuseHold)
}

// holdRefusal records a refusal to answer at at, unless maxHeldRefusals
// are held already; it reports whether it did.
func (s *Server) holdRefusal(at time.Time, answer func()) bool {
	s.refusals.Lock()
	defer s.refusals.Unlock()
	if len(s.refusals.held) >= maxHeldRefusals {
		return false
	}
	s.refusals.held = append(s.refusals.held, heldRefusal{at: at.UnixNano(), answer: answer})
	return true
}

// answerRefusals answers the held refusals whose time has come at now
// (unix ns); the housekeeper calls it every probeEvery.
func (s *Server) answerRefusals(now int64) {
	s.refusals.Lock()
	var due []func()
	kept := s.refusals.held[:0]
	for _, h := range s.refusals.held {
		if h.at <= now {
			due = append(due, h.answer)
		} else {
			kept = append(kept, h)
		}
	}
	clear(s.refusals.held[len(kept):])
	s.refusals.held = kept
	s.refusals.Unlock()
	for _, answer := range due {
		answer()
	}
}

// heldRefusals returns how many refusals are held.
func (s *Server) heldRefusals() int {
	s.refusals.Lock()
	defer s.refusals.Unlock()
	return len(s.refusals.held)
}

// gnetRefusal is the gnet context of a plaintext connection whose refusal
// is held: OnTraffic drops what it sends, and the answer runs on its event
// loop.
type gnetRefusal struct {
	s      *Server
	gc     gnet.Conn
	remote net.Addr
	until  time.Time
	closed bool // OnClose ran; only its event loop touches it
}

// refuseLater holds the refusal of gc, from an address penalized until
// until, and reports whether it did (else the caller answers at once).
func (s *Server) refuseLater(gc gnet.Conn, remote net.Addr, until time.Time) bool {
	now := time.Now()
	r := &gnetRefusal{s: s, gc: gc, remote: remote, until: until}
	task := gnet.RunnableFunc(r.answer)
	if !s.holdRefusal(now.Add(refusalDelay(until, now)), func() { s.execute(gc, task) }) {
		return false
	}
	gc.SetContext(r)
	return true
}

// answer writes the refusal and closes the connection, on its event loop.
func (r *gnetRefusal) answer(context.Context) error {
	if r.closed {
		return nil
	}
	n, _ := r.gc.Write(frame.AppendError(nil, 0, frame.CodeTooManyConnections,
		penalizedMessage(addrKey(r.remote), r.until, time.Now())))
	r.s.metrics.bytesOut.Add(n)
	_ = r.gc.EventLoop().Close(r.gc)
	return nil
}
