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

// keepAlive sends a PING when the client has written nothing on cn for
// Options.KeepAlive. Its PONG matches no request and is dropped.
func (c *Client) keepAlive(cn *conn, now time.Time) {
	if c.opts.KeepAlive <= 0 || now.UnixNano()-cn.lastWrite.Load() < int64(c.opts.KeepAlive) {
		return
	}
	cn.lastWrite.Store(now.UnixNano())
	c.control(frame.AppendPing(nil, c.nextCorr.Add(1)))
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
		if cl.state == stateQueued {
			c.dropLocked(cl)
			cl.state = stateCancelled
			continue
		}
		c.mu.pending[corr] = &call{corr: corr, state: cl.state, abandoned: true, fn: func(frame.Frame, error) {}}
	}
	c.mu.Unlock()
	for _, cl := range expired {
		cl.fn(frame.Frame{}, ErrTimeout)
	}
}
