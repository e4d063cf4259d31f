package netio

import (
	"container/list"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// The address-level penalty after FLOW_CONTROL.
//
// A client that ignores its credits is closed with FLOW_CONTROL at the
// request that exceeds them; if it reconnects at once and does it again,
// the node spends its CPU reading requests it will refuse (docs/perf.md,
// memory under hostile clients). So the connection's remote IP address is
// penalized: for a backoff, new connections from it are refused at accept
// time — before any of their bytes is read — with ERROR
// TOO_MANY_CONNECTIONS. The backoff starts at Options.FlowControlPenalty
// and doubles each time the address offends again after its penalty ended
// but before it has been quiet for penaltyQuiet, up to penaltyMaxBackoff;
// offences while it is penalized (its connections already open) change
// nothing. Connections already open are not touched.

const (
	// penaltyMaxBackoff caps the doubling backoff (or is
	// Options.FlowControlPenalty, if that is longer).
	penaltyMaxBackoff = 30 * time.Second
	// penaltyQuiet is how long an address must not offend after its
	// penalty ended for its backoff to start over.
	penaltyQuiet = 30 * time.Second
	// penaltyTableSize is the most addresses remembered; beyond it the
	// one penalized longest ago is forgotten.
	penaltyTableSize = 4096
)

// penalties is the table of penalized addresses, a pure structure (the
// caller passes the time). It is safe for concurrent use; its mutex is
// never held with another netio lock.
type penalties struct {
	base, ceiling, quiet time.Duration
	size                 int

	mu struct {
		sync.Mutex
		m     map[netip.Addr]*list.Element // of *penalty
		order list.List                    // of *penalty, least recently penalized first
	}
}

// penalty is one address's entry.
type penalty struct {
	addr    netip.Addr
	until   time.Time     // connections are refused before it
	backoff time.Duration // the last penalty's length
}

// newPenalties returns a table whose first penalty lasts base (0: the
// table is off and penalizes nothing) and which remembers at most size
// addresses.
func newPenalties(base time.Duration, size int) *penalties {
	p := &penalties{base: base, ceiling: max(base, penaltyMaxBackoff), quiet: penaltyQuiet, size: size}
	p.mu.m = make(map[netip.Addr]*list.Element)
	return p
}

// penalize records an offence of addr at now and returns the time until
// which it is refused.
func (p *penalties) penalize(addr netip.Addr, now time.Time) time.Time {
	if p.base <= 0 {
		return time.Time{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.mu.m[addr]; ok {
		pe := e.Value.(*penalty)
		switch {
		case now.Before(pe.until):
			return pe.until // already penalized: its open connections offend too
		case now.Sub(pe.until) < p.quiet:
			pe.backoff = min(2*pe.backoff, p.ceiling)
		default:
			pe.backoff = p.base
		}
		pe.until = now.Add(pe.backoff)
		p.mu.order.MoveToBack(e)
		return pe.until
	}
	if len(p.mu.m) >= p.size {
		oldest := p.mu.order.Front()
		delete(p.mu.m, oldest.Value.(*penalty).addr)
		p.mu.order.Remove(oldest)
	}
	pe := &penalty{addr: addr, until: now.Add(p.base), backoff: p.base}
	p.mu.m[addr] = p.mu.order.PushBack(pe)
	return pe.until
}

// refused reports whether addr is penalized at now, and until when.
func (p *penalties) refused(addr netip.Addr, now time.Time) (until time.Time, ok bool) {
	if p.base <= 0 {
		return time.Time{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, found := p.mu.m[addr]
	if !found {
		return time.Time{}, false
	}
	pe := e.Value.(*penalty)
	if now.Sub(pe.until) >= p.quiet {
		// Quiet long enough: forget it, so the table holds only
		// addresses that matter.
		delete(p.mu.m, addr)
		p.mu.order.Remove(e)
		return time.Time{}, false
	}
	return pe.until, now.Before(pe.until)
}

// len returns the number of addresses remembered.
func (p *penalties) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.m)
}

// penalize penalizes c's remote address: c is being closed with
// FLOW_CONTROL. Remote addresses that are not IP (tests' pipes), which
// share one key, are never penalized.
func (c *Conn) penalize() {
	s := c.srv
	k := addrKey(c.remote)
	if s.penalties.base <= 0 || !k.IsValid() {
		return
	}
	until := s.penalties.penalize(k, time.Now())
	s.opts.Logger.Debug("netio: address penalized", "conn", c.id, "remote", c.remote, "until", until)
}

// penalizedMessage is the ERROR message refusing a connection from an
// address penalized until until.
func penalizedMessage(addr netip.Addr, until, now time.Time) string {
	wait := until.Sub(now).Round(time.Millisecond)
	return fmt.Sprintf("address %s penalized for exceeding its credits: retry after %v", addr, max(wait, time.Millisecond))
}
