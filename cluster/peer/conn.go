package peer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// keepBuffer is the largest buffer a reader or writer keeps between uses;
// a larger one (after a large frame or a burst) is let go.
const keepBuffer = 1 << 20

// writeLoop drains the link's queue, everything queued in one write at a
// time, and queues a PING when nothing was written for a heartbeat. It
// returns when stop is closed (after a last flush) or a write fails
// (closing the connection).
func (c *conn) writeLoop() {
	defer close(c.done)
	opts := &c.l.t.opts
	tick := time.NewTicker(opts.Heartbeat)
	defer tick.Stop()
	wrote := time.Now()
	for {
		select {
		case <-c.stop:
			_, _ = c.flush(min(opts.WriteTimeout, time.Second))
			return
		case <-c.wake:
		case now := <-tick.C:
			if now.Sub(wrote) >= opts.Heartbeat {
				c.ping()
			}
		}
		n, err := c.flush(opts.WriteTimeout)
		if err != nil {
			_ = c.c.Close()
			return
		}
		if n > 0 {
			wrote = time.Now()
		}
	}
}

// ping queues a PING unless frames are already waiting.
func (c *conn) ping() {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.gen == c.gen && l.mu.q.bytes == 0 {
		_ = l.enqueueLocked(out{t: frame.TypePing}, c.gen)
	}
}

// flush writes everything queued with one writev and returns the bytes
// written.
func (c *conn) flush(timeout time.Duration) (int64, error) {
	l := c.l
	l.mu.Lock()
	if l.mu.gen != c.gen || l.mu.q.bytes == 0 {
		l.mu.Unlock()
		return 0, nil
	}
	chunks, frames := l.mu.q.take(c.chunks)
	c.chunks = chunks
	l.mu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(timeout))
	// WriteTo consumes its slice and clears its elements: give it a copy,
	// so that chunks can be recycled.
	c.bufs = append(c.bufs[:0], chunks...)
	n, err := c.bufs.WriteTo(c.c)
	l.m.sentBytes.Add(int(n))
	if err != nil {
		l.m.dropped.Add(frames)
		return n, fmt.Errorf("cannot write to %s: %w", l.id, err)
	}
	l.m.sentFrames.Add(frames)
	l.mu.Lock()
	l.mu.q.recycle(chunks)
	l.mu.Unlock()
	clear(chunks)
	return n, nil
}

// frameReader reads whole peer frames from a connection into one reused
// buffer, never more than maxFrame bytes.
type frameReader struct {
	r        *bufio.Reader
	buf      []byte
	maxFrame int
}

func newFrameReader(c io.Reader, maxFrame int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(c, 64<<10), maxFrame: maxFrame}
}

// next returns the next frame and its size; the frame is valid until the
// next call. Errors are the connection's, or a *frame.Error for bytes that
// break the protocol.
func (fr *frameReader) next() (frame.Frame, int, error) {
	var head [frame.HeaderSize]byte
	if _, err := io.ReadFull(fr.r, head[:]); err != nil {
		return frame.Frame{}, 0, err
	}
	if _, _, err := frame.DecodePeer(head[:], fr.maxFrame); err != nil {
		return frame.Frame{}, 0, err
	}
	total := int(binary.BigEndian.Uint32(head[:])) + 4
	if cap(fr.buf) < total || cap(fr.buf) > keepBuffer && total <= keepBuffer {
		fr.buf = make([]byte, 0, max(total, 4096))
	}
	b := append(fr.buf[:0], head[:]...)[:total]
	if _, err := io.ReadFull(fr.r, b[frame.HeaderSize:]); err != nil {
		return frame.Frame{}, 0, err
	}
	fr.buf = b
	f, _, err := frame.DecodePeer(b, fr.maxFrame)
	return f, total, err
}

// readLoop reads and dispatches frames until the connection fails, the
// peer breaks the protocol (answered with an ERROR before the close) or
// the peer goes silent for the idle timeout.
func (c *conn) readLoop(fr *frameReader) error {
	l := c.l
	for {
		_ = c.c.SetReadDeadline(time.Now().Add(l.t.opts.IdleTimeout))
		f, n, err := fr.next()
		if err != nil {
			if fe, ok := errors.AsType[*frame.Error](err); ok {
				c.refuse(fe.Code, fe.Msg)
			}
			return err
		}
		l.lastContact.Store(time.Now().UnixNano())
		l.m.recvFrames.Inc()
		l.m.recvBytes.Add(n)
		if err := c.dispatch(f); err != nil {
			return err
		}
	}
}

// refuse queues an ERROR for the peer; the writer flushes it on the way
// out.
func (c *conn) refuse(code frame.Code, msg string) {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.enqueueLocked(out{t: frame.TypeError, code: code, msg: msg}, c.gen)
}

// dispatch acts on one frame.
func (c *conn) dispatch(f frame.Frame) error {
	l := c.l
	switch f.Type {
	case frame.TypeRaft:
		l.t.opts.Handler.HandleFrame(l.id, f.Type, f.Body)
	case frame.TypeRequest:
		l.t.opts.Handler.HandleRequest(l.id, f.Body, Responder{l: l, gen: c.gen, corr: f.Corr})
	case frame.TypeResponse:
		l.answer(f.Corr, result{payload: append([]byte(nil), f.Body...)})
	case frame.TypeError:
		code, msg, err := frame.DecodeError(f.Body)
		if err != nil {
			c.refuse(frame.CodeOf(err), "ERROR: "+err.Error())
			return err
		}
		ferr := &frame.Error{Code: code, Msg: string(msg)}
		if f.Corr == 0 {
			return fmt.Errorf("%s closed the link: %w", l.id, ferr)
		}
		l.answer(f.Corr, result{err: ferr})
	case frame.TypePing:
		l.mu.Lock()
		_ = l.enqueueLocked(out{t: frame.TypePong, corr: f.Corr}, c.gen)
		l.mu.Unlock()
	case frame.TypePong:
	default: // PEER_HELLO, PEER_HELLO_OK after the handshake
		c.refuse(frame.CodeUnknownType, f.Type.String()+" after the handshake")
		return fmt.Errorf("%s sent %s after the handshake", l.id, f.Type)
	}
	return nil
}

// Responder answers one REQUEST. It is a small value, safe to copy and to
// use from any goroutine; answer once. An answer for a link that went down
// since the request arrived is dropped (the caller has already failed with
// ErrConnLost).
type Responder struct {
	l    *link
	gen  uint64
	corr uint64
}

// Reply answers the request with payload (copied). The error says why the
// answer was dropped.
func (r Responder) Reply(payload []byte) error {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	return r.l.enqueueLocked(out{t: frame.TypeResponse, corr: r.corr, payload: payload}, r.gen)
}

// Fail answers the request with an ERROR of code and msg; the caller's
// Call returns a *frame.Error.
func (r Responder) Fail(code frame.Code, msg string) error {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	return r.l.enqueueLocked(out{t: frame.TypeError, corr: r.corr, code: code, msg: msg}, r.gen)
}
