package client

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Buffer sizes of a connection.
const (
	readBufferSize  = 64 << 10
	writeBufferSize = 64 << 10
)

// conn is one TCP connection after a successful HELLO. Its reader and
// writer goroutines end when it dies (kill); the supervisor then waits for
// both (readerDone, writerDone) before it reconnects. Safe for concurrent
// use: kill and signal may be called from any goroutine.
type conn struct {
	nc         net.Conn
	maxFrame   int    // negotiated, for both directions
	credits    int    // the server's grant
	nodeID     string // the server's node id
	partitions uint32 // the cluster's partition count (HELLO_OK)
	session    uint64 // the producer session it holds, 0: none
	foreign    bool   // its node refused the session another connection holds (see sessionFlag)
	table      table  // the leader table the handshake brought
	leftover   []byte // bytes read past the handshake, for the reader

	wake       chan struct{} // one slot: the writer has work
	dead       chan struct{} // closed by kill
	readerDone chan struct{}
	writerDone chan struct{}
	once       sync.Once
	err        error        // why it died; written before dead is closed
	lastWrite  atomic.Int64 // unix ns of the writer's last write
	lastRead   atomic.Int64 // unix ns of the reader's last read
}

// kill ends the connection once, remembering why.
func (cn *conn) kill(err error) {
	cn.once.Do(func() {
		cn.err = err
		close(cn.dead)
		_ = cn.nc.Close()
	})
}

// isDead reports whether kill was called.
func (cn *conn) isDead() bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

// signal wakes the writer without blocking.
func (cn *conn) signal() {
	select {
	case cn.wake <- struct{}{}:
	default:
	}
}

// connect dials addr and performs the handshake (HELLO, PRODUCER,
// METADATA) within DialTimeout and ctx. A node that does not know METADATA
// closes the connection; it is dialled once more without it, and served
// as a single node from then on.
func (c *Client) connect(ctx context.Context, addr string) (*conn, error) {
	cn, err := c.connectOnce(ctx, addr)
	if errors.Is(err, errNoMetadata) {
		cn, err = c.connectOnce(ctx, addr)
	}
	return cn, err
}

// connectOnce is one attempt of connect.
func (c *Client) connectOnce(ctx context.Context, addr string) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	if c.opts.TLS != nil {
		d := tls.Dialer{Config: c.opts.TLS}
		nc, err = d.DialContext(ctx, "tcp", addr) // includes the TLS handshake
	} else {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		if d := recogniseTLS(err); d != nil {
			err = d
		}
		return nil, err
	}
	// Unblock the handshake's reads and writes when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	cn, err := c.hello(nc, addr)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = nc.Close()
		if ctx.Err() != nil && !recognised(err) {
			var se *silentError
			silent := errors.As(err, &se)
			err = fmt.Errorf("handshake: %w", ctx.Err())
			if silent {
				err = &silentError{err}
			}
		}
		return nil, err
	}
	return cn, nil
}

// hello sends HELLO and PRODUCER on nc and reads the answers (see
// session), then asks for the leader table (see metadata).
func (c *Client) hello(nc net.Conn, addr string) (*conn, error) {
	corr := c.nextCorr.Add(1)
	h := frame.Hello{ClientID: []byte(c.opts.ClientID), Credits: c.opts.Credits, MaxFrame: uint32(c.opts.MaxFrame),
		WantLimits: true}
	pcorr := c.nextCorr.Add(1)
	if _, err := nc.Write(append(frame.AppendHello(nil, corr, h), c.producerRequest(pcorr)...)); err != nil {
		return nil, &silentError{err}
	}
	// Until HELLO_OK the max frame is frame.DefaultMaxFrame (protocol §2).
	f, buf, n, err := readFrame(nc, cmp.Or(c.opts.MaxFrame, frame.DefaultMaxFrame))
	if err != nil {
		if d := recognise(buf); d != nil {
			return nil, d // not a SwarmMQ server: what it sent says what it is
		}
		if len(buf) == 0 {
			return nil, &silentError{err}
		}
		return nil, err
	}
	switch {
	case f.Type == frame.TypeError:
		code, msg, err := frame.DecodeError(f.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: bad ERROR frame: %w", ErrProtocol, err)
		}
		return nil, serverError(code, msg)
	case f.Type != frame.TypeHelloOK || f.Corr != corr:
		return nil, fmt.Errorf("%w: HELLO answered by %s (corr %d)", ErrProtocol, f.Type, f.Corr)
	}
	// A node that predates FlagLimits answers without it (and without
	// the limits): the flag says which layout came.
	ok, err := frame.DecodeHelloOKFlags(f.Body, f.Flags)
	if err != nil {
		return nil, fmt.Errorf("%w: bad HELLO_OK: %w", ErrProtocol, err)
	}
	limits := limitsOf(ok)
	cn := &conn{
		nc: nc, nodeID: string(ok.NodeID), partitions: ok.Partitions,
		maxFrame: int(ok.MaxFrame), credits: int(ok.Credits),
		wake: make(chan struct{}, 1), dead: make(chan struct{}),
		readerDone: make(chan struct{}), writerDone: make(chan struct{}),
	}
	if cn.maxFrame == 0 || (c.opts.MaxFrame != 0 && c.opts.MaxFrame < cn.maxFrame) {
		cn.maxFrame = cmp.Or(c.opts.MaxFrame, frame.DefaultMaxFrame)
	}
	if cn.credits == 0 { // no limit of the server's own
		cn.credits = int(c.opts.Credits)
	}
	rest, err := c.openSession(nc, buf[n:], pcorr, cn)
	if err != nil {
		return nil, fmt.Errorf("producer session: %w", err)
	}
	if rest, err = c.metadata(nc, rest, cn, addr); err != nil {
		return nil, err
	}
	cn.leftover = append([]byte(nil), rest...)
	limits.MaxFrame, limits.Credits = cn.maxFrame, cn.credits
	c.limits.Store(&limits)
	cn.lastWrite.Store(c.now().UnixNano())
	cn.lastRead.Store(c.now().UnixNano())
	return cn, nil
}

// readFrame reads from nc until a whole frame has arrived; f points into
// buf, which may hold bytes past the frame's n.
func readFrame(nc net.Conn, maxFrame int) (f frame.Frame, buf []byte, n int, err error) {
	buf = make([]byte, 0, 512)
	for {
		f, n, err = frame.Decode(buf, maxFrame)
		if err != nil || n > 0 {
			return f, buf, n, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, frameLen(buf, cap(buf)))...)[:len(buf)]
		}
		m, err := nc.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return f, buf, 0, err
		}
		buf = buf[:len(buf)+m]
	}
}

// frameLen returns the whole length of the frame starting at b when its
// length field has arrived, else fallback.
func frameLen(b []byte, fallback int) int {
	if len(b) < 4 {
		return fallback
	}
	return max(int(binary.BigEndian.Uint32(b))+4, fallback)
}

// readLoop decodes every frame the server sends and dispatches it, until
// the connection dies.
func (c *Client) readLoop(l *link, cn *conn) {
	defer c.kick()
	defer close(cn.readerDone)
	buf := make([]byte, max(readBufferSize, len(cn.leftover)))
	n := copy(buf, cn.leftover)
	cn.leftover = nil
	for {
		start := 0
		for {
			f, m, err := frame.Decode(buf[start:n], cn.maxFrame)
			if err != nil {
				cn.kill(fmt.Errorf("%w: %w", ErrProtocol, err))
				return
			}
			if m == 0 {
				break
			}
			if err := c.dispatch(l, f); err != nil {
				cn.kill(err)
				return
			}
			start += m
		}
		if start > 0 {
			cn.signal() // replies freed credits
			n = copy(buf, buf[start:n])
		}
		if n == len(buf) {
			buf = append(buf, make([]byte, frameLen(buf[:n], 2*len(buf))-len(buf))...)
		}
		m, err := cn.nc.Read(buf[n:])
		if err != nil {
			cn.kill(err)
			return
		}
		cn.lastRead.Store(c.now().UnixNano())
		n += m
	}
}

// dispatch handles one frame from the server on the reader goroutine. An
// error ends the connection.
func (c *Client) dispatch(l *link, f frame.Frame) error {
	switch f.Type {
	case frame.TypePing:
		c.control(l, frame.AppendPong(nil, f.Corr))
	case frame.TypeError:
		return c.dispatchError(l, f)
	case frame.TypePong, frame.TypePublishAck, frame.TypeMessages, frame.TypeAckOK, frame.TypeNackOK, frame.TypeMetadataOK:
		c.complete(f.Corr, f, nil)
	default:
		return fmt.Errorf("%w: server sent %s", ErrProtocol, f.Type)
	}
	return nil
}

// dispatchError handles an ERROR frame. A non-fatal one fails its request,
// except NOT_LEADER, after which a request that may be sent again goes to
// the partition's new leader. After a fatal one the server closes the
// connection: the request fails too if the code says the request itself
// was at fault (it would fail again), else it is sent again on the next
// connection.
func (c *Client) dispatchError(l *link, f frame.Frame) error {
	code, msg, err := frame.DecodeError(f.Body)
	if err != nil {
		return fmt.Errorf("%w: bad ERROR frame: %w", ErrProtocol, err)
	}
	fe := serverError(code, msg)
	if f.Corr == 0 {
		c.log.Warn("swarmmq client: server error", "addr", l.addr, "err", fe)
		if code.Fatal() {
			return fe
		}
		return nil
	}
	if code.Fatal() && !requestSpecific(code) {
		return fe
	}
	if code == frame.CodeNotLeader && c.notLeaderError(f.Corr) {
		return nil
	}
	c.complete(f.Corr, frame.Frame{}, fe)
	if code.Fatal() {
		return fe
	}
	return nil
}

// writeLoop writes queued requests and publisher batches, flushing only
// when nothing more is waiting, until the connection dies.
func (c *Client) writeLoop(l *link, cn *conn) {
	defer c.kick()
	defer close(cn.writerDone)
	bw := bufio.NewWriterSize(cn.nc, writeBufferSize)
	var batch []*call
	for {
		var ok bool
		batch, ok = c.nextWrites(l, cn, batch[:0])
		if !ok {
			return
		}
		if len(batch) == 0 {
			if bw.Buffered() > 0 {
				if err := bw.Flush(); err != nil {
					cn.kill(err)
					return
				}
				continue
			}
			select {
			case <-cn.wake:
			case <-cn.dead:
				return
			}
			continue
		}
		for _, cl := range batch {
			sessionFlag(cl.buf, cn)
			if _, err := bw.Write(cl.buf); err != nil {
				cn.kill(err)
				return
			}
		}
		clear(batch)
		cn.lastWrite.Store(c.now().UnixNano())
	}
}

// nextWrites appends to out what cn's writer should write next: l's
// queued requests while the server's credits allow, then closed batches of
// l's publishers for the credits left. It marks them written. ok is false
// when cn is no longer l's connection.
func (c *Client) nextWrites(l *link, cn *conn, out []*call) (_ []*call, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.conn != cn || l.gone || cn.isDead() {
		return out, false // what is queued waits for the router
	}
	q := l.queue
	i := 0
queue:
	for ; i < len(q); i++ {
		cl := q[i]
		switch {
		case cl.state == stateCancelled || cl.state == stateParked || cl.l != l:
			continue
		case cl.noReply:
		case cl.free:
			cl.state = stateWritten
		case l.wire >= l.credits.limit:
			break queue
		default:
			cl.state = stateWritten
			l.wire++
			if cl.written && cl.msgs > 0 {
				c.stats.retried.Add(uint64(cl.msgs))
			}
			cl.written = true
		}
		out = append(out, cl)
	}
	n := copy(q, q[i:])
	clear(q[n:])
	l.queue = q[:n]
	free := min(l.credits.freeLocked(), l.credits.limit-l.wire)
	var deadline int64
	// Start at a different publisher each time, so that one busy
	// publisher cannot take every credit from the others.
	pubs := l.pubs
	if len(pubs) > 1 {
		l.pubNext = (l.pubNext + 1) % len(pubs)
	}
	for i := range pubs {
		p := pubs[(l.pubNext+i)%len(pubs)]
		if free <= 0 {
			break
		}
		if !p.hint.Load() {
			continue
		}
		before := len(out)
		out = p.takeLocked(out, free)
		if deadline == 0 && len(out) > before {
			deadline = c.now().Add(c.opts.RequestTimeout).UnixNano()
		}
		for _, cl := range out[before:] {
			cl.deadline = deadline
			cl.part = p.part
			cl.l = l
			l.credits.used++
			cl.corr = c.nextCorr.Add(1)
			setCorr(cl.buf, cl.corr)
			cl.state = stateWritten
			cl.written = true
			c.mu.pending[cl.corr] = cl
			l.wire++
		}
		free -= len(out) - before
	}
	return out, true
}
