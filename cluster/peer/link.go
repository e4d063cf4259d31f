package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// link is the state of one peer: its connection (when up), the queue of
// encoded frames its writer drains, and the calls waiting for answers. It
// is safe for concurrent use; mu is a leaf lock.
type link struct {
	t     *Transport
	id    string
	addr  string
	dials bool // this node dials the peer (its id is the lower)
	m     linkMetrics

	lastContact atomic.Int64 // unix nanoseconds of the last frame received

	mu struct {
		sync.Mutex
		conn     net.Conn // nil while down
		gen      uint64   // counts connections; a Responder names its own
		maxFrame int
		wake     chan struct{} // the current writer's, capacity 1
		q        queue         // encoded frames not yet written
		pending  map[uint64]*call
		lastErr  error
		connects uint64
	}
}

// call is one Call waiting for its answer.
type call struct {
	gen uint64
	ch  chan result // capacity 1, written once by whoever removes the call
}

type result struct {
	payload []byte
	err     error
}

// out is a frame to queue: an ERROR when t is frame.TypeError (code, msg),
// else a frame whose body is payload.
type out struct {
	t       frame.Type
	corr    uint64
	payload []byte
	code    frame.Code
	msg     string
}

func (o *out) size() int {
	if o.t == frame.TypeError {
		return frame.HeaderSize + 4 + len(o.msg)
	}
	return frame.HeaderSize + len(o.payload)
}

func newLink(t *Transport, id, addr string) *link {
	l := &link{t: t, id: id, addr: addr, dials: t.opts.ID < id}
	l.mu.pending = make(map[uint64]*call)
	l.m = newLinkMetrics(t.opts.Metrics, l)
	return l
}

// enqueue appends o to the queue of the current connection, or of
// connection gen when gen is not 0, and wakes its writer.
func (l *link) enqueue(o out) error {
	l.mu.Lock()
	err := l.enqueueLocked(o, 0)
	l.mu.Unlock()
	return err
}

func (l *link) enqueueLocked(o out, gen uint64) error {
	switch {
	case l.mu.conn == nil || gen != 0 && gen != l.mu.gen:
		l.m.dropped.Inc()
		return ErrNotConnected // not wrapped: dropping must cost nothing
	case o.size() > l.mu.maxFrame:
		return fmt.Errorf("%w (%d bytes, max %d)", ErrTooLarge, o.size(), l.mu.maxFrame)
	case l.mu.q.bytes+o.size() > l.t.opts.QueueBytes:
		l.m.dropped.Inc()
		return ErrQueueFull
	}
	l.mu.q.push(&o)
	select {
	case l.mu.wake <- struct{}{}:
	default:
	}
	return nil
}

// call sends a REQUEST and waits for its answer.
func (l *link) call(ctx context.Context, payload []byte) ([]byte, error) {
	c := &call{ch: make(chan result, 1)}
	corr := l.t.corr.Add(1)
	l.mu.Lock()
	if l.mu.conn != nil && len(l.mu.pending) >= l.t.opts.MaxPending {
		l.mu.Unlock()
		return nil, fmt.Errorf("%w to %s", ErrTooManyRequests, l.id)
	}
	c.gen = l.mu.gen
	err := l.enqueueLocked(out{t: frame.TypeRequest, corr: corr, payload: payload}, 0)
	if err == nil {
		l.mu.pending[corr] = c
	}
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case r := <-c.ch:
		return r.payload, r.err
	case <-ctx.Done():
		if l.take(corr) == nil {
			r := <-c.ch // answered meanwhile
			return r.payload, r.err
		}
		return nil, fmt.Errorf("swarmmq/peer: request to %s: %w", l.id, ctx.Err())
	}
}

// take removes and returns the call waiting on corr, or nil.
func (l *link) take(corr uint64) *call {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.mu.pending[corr]
	delete(l.mu.pending, corr)
	return c
}

// answer completes the call waiting on corr, if any (it may have timed out).
func (l *link) answer(corr uint64, r result) {
	if c := l.take(corr); c != nil {
		c.ch <- r
	}
}

// failPendingLocked fails every call sent on connection gen or before.
func (l *link) failPendingLocked(gen uint64) {
	for corr, c := range l.mu.pending {
		if c.gen <= gen {
			delete(l.mu.pending, corr)
			c.ch <- result{err: fmt.Errorf("%w from %s", ErrConnLost, l.id)}
		}
	}
}

// conn is one established connection of a link, with its writer.
type conn struct {
	l        *link
	c        net.Conn
	gen      uint64
	maxFrame int
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	chunks   [][]byte    // the writer's scratch: the chunks being written
	bufs     net.Buffers // the writer's scratch: what writev consumes
}

// install makes c the link's connection, closing the one it replaces.
func (l *link) install(nc net.Conn, maxFrame int) *conn {
	c := &conn{l: l, c: nc, maxFrame: maxFrame, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	l.mu.Lock()
	defer l.mu.Unlock()
	if old := l.mu.conn; old != nil {
		l.t.opts.Logger.Warn("peer link replaced by a new connection", "peer", l.id)
		_ = old.Close()
		l.dropQueueLocked()
		l.failPendingLocked(l.mu.gen)
	}
	l.mu.gen++
	c.gen = l.mu.gen
	l.mu.conn, l.mu.maxFrame, l.mu.wake = nc, maxFrame, c.wake
	if l.mu.connects > 0 {
		l.m.reconnects.Inc()
	}
	l.mu.connects++
	l.mu.lastErr = nil
	return c
}

// uninstall takes c down, if it is still the link's connection.
func (l *link) uninstall(c *conn, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.gen != c.gen {
		return
	}
	l.mu.conn, l.mu.wake = nil, nil
	l.dropQueueLocked()
	l.failPendingLocked(c.gen)
	if err != nil {
		l.mu.lastErr = err
	}
}

func (l *link) dropQueueLocked() {
	l.m.dropped.Add(l.mu.q.drop())
}

// serve runs an established connection until it fails: its writer on a
// goroutine of its own, its reader on this one.
func (l *link) serve(nc net.Conn, fr *frameReader, maxFrame int) {
	c := l.install(nc, maxFrame)
	l.lastContact.Store(time.Now().UnixNano())
	l.t.opts.Logger.Info("peer link up", "peer", l.id, "remote", nc.RemoteAddr().String())
	l.t.group.Go("peer-writer", func() error { c.writeLoop(); return nil })
	err := c.readLoop(fr)
	// A writer blocked on a dead peer gives up within a second (the same
	// bound its last flush gets), not after WriteTimeout.
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	close(c.stop)
	<-c.done
	l.uninstall(c, err)
	_ = nc.Close()
	if errors.Is(err, net.ErrClosed) {
		l.t.opts.Logger.Info("peer link closed", "peer", l.id)
	} else {
		l.t.opts.Logger.Warn("peer link down", "peer", l.id, "err", err)
	}
}

// live reports whether the link is up and heard from within three
// heartbeats: a peer that dials while its link is live is a second process
// with the same id, since a node dials only when it has no link (a
// restarted node's old link is closed by its kernel, or goes silent).
func (l *link) live() bool {
	l.mu.Lock()
	up := l.mu.conn != nil
	l.mu.Unlock()
	last := time.Unix(0, l.lastContact.Load())
	return up && time.Since(last) < 3*l.t.opts.Heartbeat
}

// status returns the link's Status.
func (l *link) status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Status{ID: l.id, Addr: l.addr, Connected: l.mu.conn != nil, LastError: l.mu.lastErr}
	if n := l.lastContact.Load(); n != 0 {
		s.LastContact = time.Unix(0, n)
	}
	if l.mu.connects > 1 {
		s.Reconnects = l.mu.connects - 1
	}
	return s
}

func (l *link) setErr(err error) (changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	changed = l.mu.lastErr == nil || l.mu.lastErr.Error() != err.Error()
	l.mu.lastErr = err
	return changed
}
