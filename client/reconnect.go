package client

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// supervise watches the current connection; when it dies, it waits for
// its reader and writer, fails or re-queues its requests, and reconnects.
// Meanwhile it times out publisher batches (see sweep) and keeps the
// connection alive. It returns when the Client is closed or gives up.
func (c *Client) supervise(cn *conn) {
	tick := time.NewTicker(tickInterval(c.opts))
	defer tick.Stop()
	for cn != nil {
		select {
		case <-cn.dead:
		case <-c.ctx.Done():
			return
		case now := <-tick.C:
			c.sweep(now)
			c.keepAlive(cn, now)
			continue
		}
		<-cn.readerDone
		<-cn.writerDone
		if !c.connLost(cn) {
			return
		}
		cn = c.reconnect(cn.err)
	}
}

// connLost handles the end of cn. Requests not yet written stay queued;
// written PUBLISH, ACK and NACK requests are queued again, byte for byte
// (the server deduplicates messages by id, and acks are idempotent); any
// other written request (FETCH, PING) fails with ErrConnectionLost. It
// reports whether to reconnect.
func (c *Client) connLost(cn *conn) bool {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return false
	}
	c.mu.conn = nil
	c.cur.Store(nil)
	failed := c.requeueLocked()
	c.mu.wire = 0
	c.mu.Unlock()
	lost := withCause(ErrConnectionLost, cn.err)
	for _, cl := range failed {
		cl.fn(frame.Frame{}, lost)
	}
	if c.opts.NoReconnect {
		c.log.Warn("swarmmq client: connection lost", "addr", c.opts.Addr, "err", cn.err)
		c.failAll(lost)
		return false
	}
	c.log.Warn("swarmmq client: connection lost, reconnecting", "addr", c.opts.Addr, "err", cn.err)
	return true
}

// requeueLocked rebuilds the write queue from the pending requests that
// survive a lost connection, in their original order, and returns the
// others, which it removes.
func (c *Client) requeueLocked() (failed []*call) {
	keep := make([]*call, 0, len(c.mu.pending))
	for _, cl := range c.mu.pending {
		if cl.state == stateQueued || (cl.resend && !cl.abandoned) {
			cl.state = stateQueued
			keep = append(keep, cl)
			continue
		}
		c.dropLocked(cl)
		failed = append(failed, cl)
	}
	slices.SortFunc(keep, func(a, b *call) int { return cmp.Compare(a.corr, b.corr) })
	clear(c.mu.queue)
	c.mu.queue = keep
	return failed
}

// reconnect tries to connect again: at once, then after ReconnectWait,
// doubling up to MaxReconnectWait, at most MaxReconnects times. It returns
// the new connection, or nil when the Client was closed or gave up (then
// every outstanding request has failed).
func (c *Client) reconnect(cause error) *conn {
	wait := c.opts.ReconnectWait
	last := cause
	attempt := 0
	for c.opts.MaxReconnects < 0 || attempt < c.opts.MaxReconnects {
		attempt++
		if attempt > 1 {
			if !c.pause(c.jitter(wait)) {
				return nil
			}
			wait = min(2*wait, c.opts.MaxReconnectWait)
		}
		cn, err := c.connect(c.ctx)
		if c.ctx.Err() != nil {
			if cn != nil {
				_ = cn.nc.Close()
			}
			return nil
		}
		if err != nil {
			last = err
			c.log.Info("swarmmq client: reconnect failed", "addr", c.opts.Addr, "attempt", attempt, "err", err)
			continue
		}
		if !c.install(cn) {
			_ = cn.nc.Close()
			return nil
		}
		c.log.Info("swarmmq client: reconnected", "addr", c.opts.Addr, "attempts", attempt, "node", cn.nodeID)
		return cn
	}
	err := withCause(ErrConnectionLost, fmt.Errorf("gave up after %d reconnect attempts: %w", attempt, last))
	c.log.Error("swarmmq client: giving up", "addr", c.opts.Addr, "err", err)
	c.failAll(err)
	return nil
}

// pause waits for d; it returns false if the Client was closed meanwhile.
func (c *Client) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// jitter spreads d by ±20% so that clients of a restarted node do not
// reconnect in lockstep.
func (c *Client) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*c.rng.Float64()))
}
