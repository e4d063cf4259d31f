package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"

	"github.com/swarmmq/swarmmq/frame"
)

// session is the Client's producer session (PRODUCER in docs/protocol.md):
// the node issues a producer id and a token on the first connection, the
// Client resumes the same session on every reconnect, stamps the id on its
// messages and marks its PUBLISH frames with frame.FlagSession. The node
// then deduplicates them against this session's messages only: no other
// client can make them look like duplicates, and the node recognises a
// retry of any of the session's last Window messages however much other
// traffic it stored in between. The Client keeps at most Window of them
// unacknowledged (Client.inflight), so every retry it makes is recognised.
type session struct {
	mu     sync.Mutex
	id     uint64 // 0: none (the node opened none)
	token  [frame.TokenSize]byte
	window int
}

// Session names a producer session: what the node issued in PRODUCER_OK.
// The token is the session's secret: whoever holds it may publish in the
// session. A plain value.
type Session struct {
	ID    uint64
	Token [frame.TokenSize]byte
}

// Session returns the Client's producer session (zero if the node opened
// none). A process that keeps it (with the ids of its unacknowledged
// messages) can resume it after a restart with Options.Session and publish
// those messages again: the node recognises them as long as it remembers
// the session (docs/protocol.md §8).
func (c *Client) Session() Session {
	c.sess.mu.Lock()
	defer c.sess.mu.Unlock()
	return Session{ID: c.sess.id, Token: c.sess.token}
}

// producerRequest returns the PRODUCER frame that opens the session, or
// resumes it once there is one.
func (c *Client) producerRequest(corr uint64) []byte {
	c.sess.mu.Lock()
	defer c.sess.mu.Unlock()
	return frame.AppendProducer(nil, corr, frame.Producer{ID: c.sess.id, Token: c.sess.token})
}

// openSession reads the answer to PRODUCER (corr) from rest and nc, and
// records the session cn holds. A session the node refuses to resume
// (BAD_PRODUCER: its key changed) is replaced by a new one; messages
// stamped with the old id are then refused with BAD_PRODUCER, and the
// Client reports them as failed. But while another live connection holds
// the session, the refusing node is another node of a cluster whose nodes
// do not share a producer key: the session is kept, cn holds none
// (foreign), and the PUBLISH frames written on cn go without FlagSession
// (see sessionFlag).
// It returns the bytes read past the answer.
func (c *Client) openSession(nc net.Conn, rest []byte, corr uint64, cn *conn) ([]byte, error) {
	maxFrame := cn.maxFrame
	f, rest, err := readNext(nc, rest, maxFrame)
	if err != nil {
		return nil, err
	}
	switch {
	case f.Corr != corr:
		return nil, fmt.Errorf("%w: PRODUCER answered by %s (corr %d)", ErrProtocol, f.Type, f.Corr)
	case f.Type == frame.TypeError:
		code, msg, err := frame.DecodeError(f.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: bad ERROR frame: %w", ErrProtocol, err)
		}
		if code == frame.CodeBadRequest { // the node opens no sessions
			c.log.Warn("swarmmq client: the node opened no producer session; publishing with application ids "+
				"(retries are recognised within its dedupe window only)", "reason", msg)
			c.sess.mu.Lock()
			c.sess.id, c.sess.token = 0, [frame.TokenSize]byte{}
			c.sess.mu.Unlock()
			c.producer.Store(0)
			return rest, nil
		}
		if code != frame.CodeBadProducer {
			return nil, serverError(code, msg)
		}
		if c.sessionHeldElsewhere() {
			c.log.Warn("swarmmq client: a node refused the producer session another node holds: the nodes do not share "+
				"a producer key; publishing to it with application ids (a retry moved to it may be stored twice)",
				"producer", c.ProducerID(), "reason", msg)
			cn.foreign = true
			return rest, nil
		}
		c.log.Warn("swarmmq client: the node did not resume the producer session; opening a new one "+
			"(unacknowledged messages of the old session will be refused BAD_PRODUCER)", "producer", c.ProducerID(), "reason", msg)
		c.sess.mu.Lock()
		c.sess.id, c.sess.token = 0, [frame.TokenSize]byte{}
		c.sess.mu.Unlock()
		corr = c.nextCorr.Add(1)
		if _, err := nc.Write(c.producerRequest(corr)); err != nil {
			return nil, err
		}
		return c.openSession(nc, rest, corr, cn)
	case f.Type != frame.TypeProducerOK:
		return nil, fmt.Errorf("%w: PRODUCER answered by %s", ErrProtocol, f.Type)
	}
	ok, err := frame.DecodeProducerOK(f.Body)
	if err != nil || ok.ID == 0 || ok.Window == 0 {
		return nil, fmt.Errorf("%w: bad PRODUCER_OK (%+v): %w", ErrProtocol, ok, err)
	}
	c.sess.mu.Lock()
	c.sess.id, c.sess.token, c.sess.window = ok.ID, ok.Token, int(min(ok.Window, math.MaxInt32))
	c.sess.mu.Unlock()
	cn.session = ok.ID
	c.producer.Store(ok.ID)
	c.inflight.Lock()
	c.inflight.limit = int(min(ok.Window, math.MaxInt32))
	c.inflight.wakeLocked()
	c.inflight.Unlock()
	return rest, nil
}

// sessionHeldElsewhere reports whether a live connection holds the
// Client's producer session.
func (c *Client) sessionHeldElsewhere() bool {
	id := c.producer.Load()
	if id == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.mu.links {
		if l.liveLocked() && l.conn.session == id {
			return true
		}
	}
	return false
}

// sessionFlag clears FlagSession in the PUBLISH frame buf written on a
// connection whose node refused the session another node holds
// (conn.foreign): its messages then go with application ids there,
// instead of a BAD_PRODUCER answer. Writer goroutine only; buf belongs to
// a call no other goroutine touches while it is written.
func sessionFlag(buf []byte, cn *conn) {
	if !cn.foreign || len(buf) < frame.HeaderSize || frame.Type(buf[5]) != frame.TypePublish {
		return
	}
	if flags := binary.BigEndian.Uint16(buf[6:]); flags&frame.FlagSession != 0 {
		frame.SetFlags(buf, 0, flags&^frame.FlagSession)
	}
}

// readNext returns the first whole frame of buf and what nc sends next,
// and the bytes after it.
func readNext(nc net.Conn, buf []byte, maxFrame int) (frame.Frame, []byte, error) {
	for {
		f, n, err := frame.Decode(buf, maxFrame)
		if err != nil {
			return f, nil, err
		}
		if n > 0 {
			return f, buf[n:], nil
		}
		more := make([]byte, frameLen(buf, 512))
		k, err := nc.Read(more[len(buf):])
		if err != nil {
			return frame.Frame{}, nil, err
		}
		copy(more, buf)
		buf = more[:len(buf)+k]
	}
}

// errWindow is returned for a synchronous publish of more messages than
// the session's window.
var errWindow = errors.New("more messages than the producer session may have unacknowledged")

// takeInflight waits until n more messages of the session may be
// unacknowledged, and counts them. Release them with releaseInflight once
// each is resolved.
func (c *Client) takeInflight(ctx context.Context, n int) error {
	c.inflight.Lock()
	for {
		if n > c.inflight.limit {
			c.inflight.Unlock()
			return fmt.Errorf("%w (%d > %d): publish fewer at once", errWindow, n, c.inflight.limit)
		}
		if c.inflight.used+n <= c.inflight.limit {
			c.inflight.used += n
			c.inflight.Unlock()
			return nil
		}
		ch := c.inflight.waitLocked()
		c.inflight.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		c.inflight.Lock()
	}
}

// tryInflight is takeInflight of one message, without waiting: it reports
// whether it took it.
func (c *Client) tryInflight() bool {
	c.inflight.Lock()
	ok := c.inflight.tryLocked()
	c.inflight.Unlock()
	return ok
}

// releaseInflight gives back n messages taken by takeInflight or
// tryInflight.
func (c *Client) releaseInflight(n int) {
	c.inflight.Lock()
	c.inflight.releaseLocked(n)
	c.inflight.Unlock()
}

// publishFlags returns the header flags of the Client's PUBLISH frames.
func (c *Client) publishFlags() uint16 {
	if c.producer.Load() != 0 {
		return frame.FlagSession
	}
	return 0
}
