package clienttest

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/swarmmq/swarmmq/frame"
)

// Conn is one client connection of a Server. It is safe for concurrent
// use.
type Conn struct {
	s        *Server
	nc       net.Conn
	id       int
	maxFrame int
	closed   atomic.Bool
	muted    atomic.Bool

	wmu      sync.Mutex
	out      []byte // replies of the current read, written together
	batching bool
}

// ID returns the connection's number: 1 for the first accepted.
func (c *Conn) ID() int { return c.id }

// NodeID returns the node id of the Server the connection belongs to.
func (c *Conn) NodeID() string { return c.s.opts.NodeID }

// Send writes a whole frame (or several) to the client. b may be reused
// once Send returns.
func (c *Conn) Send(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return errClosed
	}
	if c.muted.Load() {
		return nil
	}
	if c.batching {
		c.out = append(c.out, b...)
		return nil
	}
	_, err := c.nc.Write(b)
	return err
}

// Mute makes Send drop every frame from now on, as if the replies were
// lost: for example Mute, Serve, Close stores a publish whose ack the
// client never sees.
func (c *Conn) Mute() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.muted.Store(true)
	c.out = c.out[:0]
}

// Close closes the connection after writing the replies already sent;
// the client sees it drop.
func (c *Conn) Close() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(c.out) > 0 && !c.closed.Load() {
		_, _ = c.nc.Write(c.out)
		c.out = c.out[:0]
	}
	c.closed.Store(true)
	return c.nc.Close()
}

// Serve lets the broker answer f, as if Intercept had not taken it.
func (c *Conn) Serve(f Frame) {
	c.s.b.handle(c, f.Frame)
}

func (c *Conn) serve() {
	defer c.s.wg.Done()
	defer c.s.forget(c)
	defer func() { _ = c.Close() }()
	buf := make([]byte, 0, 64<<10)
	buf, ok := c.handshake(buf)
	if !ok {
		return
	}
	for {
		start := 0
		c.begin()
		for {
			f, n, err := frame.Decode(buf[start:], c.maxFrame)
			if err != nil {
				c.fail(err)
				_ = c.end()
				return
			}
			if n == 0 {
				break
			}
			c.dispatch(f, buf[start:start+n])
			start += n
		}
		if c.end() != nil {
			return
		}
		buf = buf[:copy(buf, buf[start:])]
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		m, err := c.nc.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return
		}
		buf = buf[:len(buf)+m]
	}
}

// handshake reads HELLO and answers it; it returns the bytes read past it.
func (c *Conn) handshake(buf []byte) ([]byte, bool) {
	for {
		f, n, err := frame.Decode(buf, int(c.s.opts.MaxFrame))
		if err != nil {
			c.fail(err)
			return nil, false
		}
		if n > 0 {
			c.s.record(c.copyFrame(f, buf[:n]))
			return c.hello(f, buf, n)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		m, err := c.nc.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return nil, false
		}
		buf = buf[:len(buf)+m]
	}
}

func (c *Conn) hello(f frame.Frame, buf []byte, n int) ([]byte, bool) {
	if f.Type != frame.TypeHello {
		c.fail(&frame.Error{Code: frame.CodeHandshakeRequired, Msg: "HELLO must come first"})
		return nil, false
	}
	h, err := frame.DecodeHello(f.Body)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	if e := c.s.opts.HelloError; e != nil {
		_ = c.Send(frame.AppendError(nil, f.Corr, e.Code, e.Msg))
		return nil, false
	}
	if h.MaxFrame != 0 && h.MaxFrame < c.s.opts.MaxFrame { // as a node does (docs/protocol.md, HELLO)
		_ = c.Send(frame.AppendError(nil, f.Corr, frame.CodeBadRequest,
			fmt.Sprintf("max_frame %d in HELLO is below this node's max frame %d", h.MaxFrame, c.s.opts.MaxFrame)))
		return nil, false
	}
	ok := frame.HelloOK{NodeID: []byte(c.s.opts.NodeID), Credits: c.s.opts.Credits,
		MaxFrame: c.s.opts.MaxFrame, Partitions: Partitions}
	if ok.Credits == 0 {
		ok.Credits = h.Credits
	}
	if h.MaxFrame != 0 && h.MaxFrame < ok.MaxFrame {
		ok.MaxFrame = h.MaxFrame
	}
	if f.Flags&frame.FlagLimits != 0 {
		ok.Limits = c.s.opts.Limits
	}
	c.maxFrame = int(ok.MaxFrame)
	if c.Send(frame.AppendHelloOK(nil, f.Corr, ok)) != nil {
		return nil, false
	}
	return buf[:copy(buf, buf[n:])], true
}

// dispatch records f, offers it to Intercept, else serves it.
func (c *Conn) dispatch(f frame.Frame, raw []byte) {
	if !c.s.opts.Record && c.s.opts.Intercept == nil {
		c.s.b.handle(c, f) // the broker copies what it keeps
		return
	}
	cp := c.copyFrame(f, raw)
	c.s.record(cp)
	if ic := c.s.opts.Intercept; ic != nil && ic(c, cp) {
		return
	}
	c.s.b.handle(c, cp.Frame)
}

// fail answers a bad frame with an ERROR; the caller closes.
func (c *Conn) fail(err error) {
	_ = c.Send(frame.AppendError(nil, 0, frame.CodeOf(err), err.Error()))
}

func (c *Conn) begin() {
	c.wmu.Lock()
	c.batching = true
	c.wmu.Unlock()
}

// end writes the replies collected since begin.
func (c *Conn) end() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.batching = false
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	return err
}

// copyFrame returns a Frame that owns a copy of raw, the bytes of f.
func (c *Conn) copyFrame(f frame.Frame, raw []byte) Frame {
	cp := Frame{Conn: c.id, Raw: append([]byte(nil), raw...)}
	cp.Header = f.Header
	cp.Body = cp.Raw[frame.HeaderSize:]
	return cp
}
