package netio

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Sizes and times of the TLS transport.
const (
	// tlsReadChunk is the room a TLS read is given beyond the bytes
	// already buffered: one TLS record's plaintext.
	tlsReadChunk = 16 << 10
	// tlsKeepBuf is the largest inbound buffer kept while empty; a larger
	// one (grown for a large frame) is dropped once consumed.
	tlsKeepBuf = 64 << 10
	// closeLinger bounds the last write to a connection being closed (the
	// queue before a fatal ERROR, SHUTTING_DOWN, a rejection): a client
	// that does not read does not hold a goroutine or Stop.
	closeLinger = time.Second
)

// errInboundFull cannot happen: the reader reads only while less than one
// whole frame is buffered, and a frame is at most MaxInbound bytes.
var errInboundFull = errors.New("BUG: netio: tls inbound buffer full")

// tlsConn is the transport of a TLS connection. Its reader goroutine (serve)
// completes the TLS handshake within the handshake deadline, starts the
// writer goroutine, then reads, decrypts and runs Conn.consume; when the
// ring is full it stops reading altogether — the kernel's receive window
// then closes and TCP pushes back on the client — until wake. The writer
// goroutine (writeLoop) writes the queue whenever kicked; tls.Conn allows
// one concurrent reader and one concurrent writer. Whoever ends the
// connection calls shutdown, which closes the socket so both goroutines
// return; the reader waits for the writer, then forgets the connection.
type tlsConn struct {
	c     *Conn
	raw   net.Conn
	tc    *tls.Conn
	in    tlsInbuf      // the reader's alone
	kickC chan struct{} // one slot: write the queue
	wakeC chan struct{} // one slot: the ring has room
	dead  chan struct{} // closed by shutdown

	hsDone   atomic.Bool // the TLS handshake completed
	drainReq atomic.Bool // Stop asked for a drain
	shutOnce sync.Once

	writerDone chan struct{} // closed when writeLoop returns; nil if never started
}

var _ transport = (*tlsConn)(nil)

func newTLSConn(c *Conn, raw net.Conn, cfg *tls.Config) *tlsConn {
	return &tlsConn{
		c:     c,
		raw:   raw,
		tc:    tls.Server(raw, cfg),
		kickC: make(chan struct{}, 1),
		wakeC: make(chan struct{}, 1),
		dead:  make(chan struct{}),
	}
}

func (t *tlsConn) kick()  { notify(t.kickC) }
func (t *tlsConn) probe() {} // the writer reports its progress itself
func (t *tlsConn) wake()  { notify(t.wakeC) }

// drain asks the writer to finish; a connection still in its TLS handshake
// has nobody to tell and is closed at once.
func (t *tlsConn) drain() {
	t.drainReq.Store(true)
	if !t.hsDone.Load() {
		t.shutdown()
		return
	}
	notify(t.kickC)
}

// closing bounds the writes still to come, so a blocked write to a client
// that does not read (SLOW_CONSUMER) returns; a connection still in its TLS
// handshake is cut short.
func (t *tlsConn) closing() {
	now := time.Now()
	_ = t.raw.SetWriteDeadline(now.Add(closeLinger))
	if !t.hsDone.Load() {
		_ = t.raw.SetReadDeadline(now)
	}
}

// shutdown closes the socket (without a TLS close_notify, which could
// block) and releases both goroutines. Idempotent, any goroutine.
func (t *tlsConn) shutdown() {
	t.shutOnce.Do(func() {
		close(t.dead)
		_ = t.raw.Close()
	})
}

// serve is the connection's reader goroutine.
func (t *tlsConn) serve() error {
	s := t.c.srv
	err := t.handshake()
	if err == nil {
		t.writerDone = make(chan struct{})
		s.group.Go("netio", t.writeLoop)
		err = t.readLoop()
	}
	t.shutdown()
	if t.writerDone != nil {
		<-t.writerDone
	}
	t.in.buf = nil
	s.tls.untrack(t.raw)
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	s.forget(t.c, err)
	return nil
}

// handshake runs the TLS handshake, which must end by the connection's
// handshake deadline (HandshakeTimeout after accept; HELLO has the rest).
func (t *tlsConn) handshake() error {
	s := t.c.srv
	deadline := time.Unix(0, t.c.openedAt).Add(s.opts.HandshakeTimeout)
	_ = t.raw.SetDeadline(deadline)
	if err := t.tc.Handshake(); err != nil {
		s.metrics.tlsHandshakeErrors.Inc()
		s.opts.Logger.Debug("netio: tls handshake failed", "conn", t.c.id, "remote", t.c.remote, "err", err)
		return err
	}
	t.hsDone.Store(true)
	_ = t.raw.SetDeadline(time.Time{})
	if t.c.Closed() {
		t.closing() // it raced with the handshake; bound the final write again
	}
	return nil
}

// readLoop reads and consumes until the connection ends. While a frame is
// held back by a full ring it does not read at all.
func (t *tlsConn) readLoop() error {
	c, s := t.c, t.c.srv
	for {
		var readErr error
		if c.loop.blocked {
			select {
			case <-t.wakeC:
			case <-t.dead:
				return nil
			}
		} else {
			var n int
			n, readErr = t.in.fill(t.tc, c.loop.need, s.opts.MaxInbound)
			s.metrics.bytesIn.Add(n)
			if n == 0 && readErr != nil {
				return readErr
			}
		}
		// On closeNow the ERROR is queued and the connection closing: the
		// writer writes it and shuts the socket, which ends the next read;
		// until then what arrives is dropped.
		_ = c.consume(&t.in)
		c.setInbound(t.in.InboundBuffered())
		c.flushSoon()
		if readErr != nil {
			return readErr // bytes came with the error (data, then close_notify)
		}
	}
}

// writeLoop is the connection's writer goroutine.
func (t *tlsConn) writeLoop() error {
	defer close(t.writerDone)
	for {
		select {
		case <-t.kickC:
		case <-t.dead:
			return nil
		}
		if !t.writeQueued() {
			t.shutdown()
			return nil
		}
	}
}

// writeQueued writes the queue and reports whether the connection stays
// open: not after a write error, a close request, or a finished drain.
func (t *tlsConn) writeQueued() (open bool) {
	c := t.c
	out, closeNow := c.takeOut(0) // nothing is held unwritten between calls
	if closeNow {
		_ = t.raw.SetWriteDeadline(time.Now().Add(closeLinger))
	}
	if out != nil {
		err := t.writeOut(out.B)
		c.srv.outBufs.Put(out)
		if err != nil {
			return false
		}
	}
	if closeNow {
		return false
	}
	if t.drainReq.Load() && !c.queued() {
		// Stop: everything queued has reached the socket.
		_ = t.raw.SetWriteDeadline(time.Now().Add(closeLinger))
		_ = t.write(frame.AppendError(nil, 0, frame.CodeShuttingDown, "server is stopping"))
		return false
	}
	return true
}

// writeOut writes the queue taken out, in pieces of tlsWriteChunk, and
// reports the progress after each (Conn.wrote).
func (t *tlsConn) writeOut(b []byte) error {
	for len(b) > 0 {
		n := min(len(b), tlsWriteChunk)
		if err := t.write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		t.c.wrote(int64(len(b)))
	}
	t.c.wrote(0)
	return nil
}

func (t *tlsConn) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := t.tc.Write(b)
	t.c.srv.metrics.bytesOut.Add(n)
	return err
}

// tlsInbuf holds the bytes a TLS reader has decrypted and not yet handed
// on; it implements inbuf, for the reader goroutine alone. buf[r:w] is the
// content; len(buf) is the capacity.
type tlsInbuf struct {
	buf  []byte
	r, w int
}

var _ inbuf = (*tlsInbuf)(nil)

// InboundBuffered returns the number of bytes buffered.
func (b *tlsInbuf) InboundBuffered() int { return b.w - b.r }

// Peek returns the next n bytes (all of them for n ≤ 0), without consuming
// them, or all there are and io.ErrShortBuffer.
func (b *tlsInbuf) Peek(n int) ([]byte, error) {
	have := b.w - b.r
	if n <= 0 {
		n = have
	}
	if n > have {
		return b.buf[b.r:b.w], io.ErrShortBuffer
	}
	return b.buf[b.r : b.r+n], nil
}

// Discard drops the next n bytes (all of them for n < 0).
func (b *tlsInbuf) Discard(n int) (int, error) {
	have := b.w - b.r
	if n < 0 || n >= have {
		b.r, b.w = 0, 0
		if len(b.buf) > tlsKeepBuf {
			b.buf = nil
		}
		return have, nil
	}
	b.r += n
	return n, nil
}

// fill makes room and reads once from r: room for the whole frame at the
// head when its length need is known, and tlsReadChunk more, but never more
// than limit bytes buffered in all.
func (b *tlsInbuf) fill(r io.Reader, need, limit int) (int, error) {
	have := b.w - b.r
	want := min(max(need, have+tlsReadChunk), limit)
	if want <= have {
		return 0, errInboundFull
	}
	switch {
	case want > len(b.buf):
		buf := make([]byte, max(want, tlsReadChunk))
		copy(buf, b.buf[b.r:b.w])
		b.buf = buf
		b.r, b.w = 0, have
	case b.r+want > len(b.buf):
		copy(b.buf, b.buf[b.r:b.w])
		b.r, b.w = 0, have
	}
	n, err := r.Read(b.buf[b.w : b.r+want])
	b.w += n
	return n, err
}

// notify leaves a token in a one-slot channel unless one is pending.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
