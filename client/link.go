package client

import (
	"sync/atomic"
	"time"
)

// link is the Client's line to one node: its address, its connection once
// dialled, and the requests and publishers routed to it. A link is made
// when a request needs its node (linkForLocked) and dialled by a goroutine
// of its own; when its dial fails or its connection dies the router
// removes it and routes its requests again (routing.go). The fields but
// addr and cur are guarded by Client.mu.
type link struct {
	addr string
	cur  atomic.Pointer[conn] // the live connection, for waking its writer

	conn    *conn        // nil while dialling
	dialErr error        // why its dial failed, for the router
	gone    bool         // removed from the Client
	queue   []*call      // requests to write, in order
	credits gate         // used: pending requests holding a credit; limit: the server's grant
	wire    int          // requests written on conn and not answered
	pubs    []*Publisher // publishers whose destination this node leads, polled by the writer
	pubNext int          // where the writer's next poll of pubs starts

	// Leader discovery (discover.go).
	probedAt    int64         // unix ns of the unanswered PING watch sent; 0: none
	oldest      uint64        // the corr of its oldest prompt request written, as watch last saw it
	oldestAt    int64         // unix ns when watch first saw oldest
	suspected   bool          // silent or overdue, and reported so
	suspectedAt int64         // unix ns since when
	askAt       int64         // unix ns before which watch asks no other node about it again
	askWait     time.Duration // the pause after the next question about it
}

// signal wakes l's writer, if it has a connection.
func (l *link) signal() {
	if cn := l.cur.Load(); cn != nil {
		cn.signal()
	}
}

// live reports whether l has a connection that is not dead.
func (l *link) liveLocked() bool {
	return l.conn != nil && !l.conn.isDead()
}

// newLinkLocked makes the link to addr and registers it; the caller
// dials it (or hands it a connection).
func (c *Client) newLinkLocked(addr string) *link {
	l := &link{addr: addr}
	l.credits.limit = int(c.opts.Credits)
	c.mu.links[addr] = l
	return l
}

// startDialLocked makes the link to addr and dials it on a goroutine of
// its own.
func (c *Client) startDialLocked(addr string) *link {
	l := c.newLinkLocked(addr)
	c.g.Go("dial", func() { c.dial(l) })
	return l
}

// dial connects l, then installs the connection (and the leader table its
// handshake brought), or records why it failed; either way it wakes the
// router.
func (c *Client) dial(l *link) {
	cn, err := c.connect(c.ctx, l.addr)
	c.mu.Lock()
	switch {
	case c.mu.closed || l.gone:
		if cn != nil {
			_ = cn.nc.Close()
		}
	case err != nil:
		l.dialErr = err
	default:
		c.connectedLocked(l, cn)
	}
	c.mu.Unlock()
	c.kick()
}

// connectedLocked makes cn l's connection, starts its reader and writer,
// and installs the leader table cn's handshake brought.
func (c *Client) connectedLocked(l *link, cn *conn) {
	l.conn = cn
	l.wire = 0
	l.credits.limit = cn.credits
	l.credits.wakeLocked()
	l.cur.Store(cn)
	c.mu.home = l
	c.mu.nodeID = cn.nodeID
	c.maxFrame.Store(int64(cn.maxFrame))
	if cn.partitions > 0 {
		c.parts.Store(cn.partitions)
	}
	c.mu.route.connected()
	state := StateConnected
	if c.mu.lost[l.addr] {
		delete(c.mu.lost, l.addr)
		state = StateReconnected
		c.stats.reconnects.Add(1)
	}
	c.ev.emit(ConnEvent{State: state, Addr: l.addr})
	delete(c.mu.route.asks, l)
	delete(c.mu.down, l.addr)
	c.g.Go("reader", func() { c.readLoop(l, cn) })
	c.g.Go("writer", func() { c.writeLoop(l, cn) })
	t := cn.table
	t.from = l.addr
	delete(c.mu.route.epochs, l.addr) // perhaps a new process: its epoch starts again
	c.installTableLocked(t)
	if len(l.queue) > 0 {
		cn.signal()
	}
}

// lostLocked removes l, whose dial failed or whose connection died (its
// reader and writer have stopped): its requests that may be sent again
// (every PUBLISH, FETCH, ACK and NACK not abandoned, and whatever was not
// written yet) are parked for the router to route again; the others are
// returned, to be failed. Its publishers wait for a new link.
func (c *Client) lostLocked(l *link) (failed []*call) {
	l.gone = true
	delete(c.mu.links, l.addr)
	l.cur.Store(nil)
	if c.mu.home == l {
		c.mu.home = nil
	}
	for _, cl := range c.mu.pending {
		if cl.l != l {
			continue
		}
		if cl.state == stateQueued || (cl.resend && !cl.abandoned) {
			c.rerouteLocked(cl)
			continue
		}
		c.dropLocked(cl)
		failed = append(failed, cl)
	}
	clear(l.queue)
	l.queue = nil
	for _, p := range l.pubs {
		p.link.Store(nil)
	}
	l.pubs = nil
	c.mu.route.stale = true
	return failed
}
