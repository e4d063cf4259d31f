package client

import (
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// tickInterval is how often the supervisor looks for publisher batches
// past their deadline and for a silent connection: a quarter of the
// request timeout, half the keep-alive, at least 1ms and at most 1s.
func tickInterval(o Options) time.Duration {
	d := o.RequestTimeout / 4
	if o.KeepAlive > 0 {
		d = min(d, o.KeepAlive/2)
	}
	return min(max(d, time.Millisecond), time.Second)
}

// keepAlive sends a PING on each connection the client has written
// nothing on for Options.KeepAlive; its PONG matches no request and is
// dropped. A connection silent for stallAfter while requests are
// outstanding on it makes the leader table stale: its node may be paused
// or cut off while another has taken over (see silentLocked).
func (c *Client) keepAlive(now time.Time) {
	c.mu.Lock()
	var quiet []*link
	for _, l := range c.mu.links {
		cn := l.conn
		if cn == nil {
			continue
		}
		if c.silentLocked(l, now) {
			c.mu.route.stale = true
		}
		if c.opts.KeepAlive > 0 && now.UnixNano()-cn.lastWrite.Load() >= int64(c.opts.KeepAlive) {
			cn.lastWrite.Store(now.UnixNano())
			quiet = append(quiet, l)
		}
	}
	c.mu.Unlock()
	for _, l := range quiet {
		c.control(l, frame.AppendPing(nil, c.nextCorr.Add(1)))
	}
}

// jitter spreads d by ±20% so that clients of a restarted node do not
// reconnect in lockstep. Router goroutine only (it draws from c.rng).
func (c *Client) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*c.rng.Float64()))
}

// sweep fails the publisher batches whose request timeout ran out
// (synchronous requests time out on their own: their caller waits with a
// timer). A batch not yet written is cancelled and frees its credit. A
// written one is replaced in the pending set by a tombstone that keeps
// its credit until the late reply (or the connection's end) arrives, since
// the server still counts it. The batch's messages fail with ErrTimeout;
// they may or may not have been stored.
func (c *Client) sweep(now time.Time) {
	deadline := now.UnixNano()
	var expired []*call
	c.mu.Lock()
	for corr, cl := range c.mu.pending {
		if cl.deadline == 0 || cl.deadline > deadline {
			continue
		}
		expired = append(expired, cl)
		if cl.state == stateQueued || cl.state == stateParked {
			c.dropLocked(cl)
			cl.state = stateCancelled
			continue
		}
		c.mu.pending[corr] = &call{corr: corr, state: cl.state, abandoned: true, l: cl.l, free: cl.free, part: cl.part,
			fn: func(frame.Frame, error) {}}
	}
	var unsent []*pubBatch
	for _, p := range c.mu.pubs {
		if p.link.Load() == nil {
			unsent = p.expireUnsentLocked(deadline-int64(c.opts.RequestTimeout), unsent)
		}
	}
	c.mu.Unlock()
	for _, cl := range expired {
		cl.fn(frame.Frame{}, ErrTimeout)
	}
	// Batches of a Publisher whose partition has had no leader for the
	// request timeout: never written, so not stored.
	for _, b := range unsent {
		b.complete(frame.Frame{}, ErrTimeout)
	}
}
