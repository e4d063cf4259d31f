package netio

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// maxRejecting bounds the connections being turned away over TLS at once
// (each needs a TLS handshake to carry its ERROR); beyond it a refused
// connection is closed without a word.
const maxRejecting = 64

// tlsSide is the TLS listener of a Server: an accept goroutine that hands
// each connection to a tlsConn, and the set of open TLS sockets Stop
// closes. It is safe for concurrent use.
type tlsSide struct {
	s         *Server
	cfg       *tls.Config
	ln        net.Listener // set by Start
	rejecting atomic.Int32 // rejecting goroutines running

	mu struct {
		sync.Mutex
		down  bool                // Stop has closed the listener
		socks map[net.Conn]func() // open sockets, and how to shut each down
	}
}

func newTLSSide(s *Server, cfg *tls.Config) *tlsSide {
	ts := &tlsSide{s: s, cfg: cfg}
	ts.mu.socks = make(map[net.Conn]func())
	return ts
}

// acceptLoop is the TLS listener's goroutine; it returns once Stop closed
// the listener.
func (ts *tlsSide) acceptLoop() error {
	var backoff time.Duration
	for {
		raw, err := ts.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of descriptors or the like: wait, then try again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			ts.s.opts.Logger.Error("netio: tls accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ts.s.quit:
				t.Stop()
				return nil
			}
			continue
		}
		backoff = 0
		ts.accept(raw)
	}
}

// accept admits raw and starts its reader, or turns it away.
func (ts *tlsSide) accept(raw net.Conn) {
	s := ts.s
	c := newConn(s, raw.RemoteAddr(), time.Now().UnixNano())
	c.tls = true
	t := newTLSConn(c, raw, ts.cfg)
	c.tr = t
	if !ts.track(raw, t.shutdown) {
		_ = raw.Close() // Stop has begun
		return
	}
	if code, msg, until := s.register(c); code != frame.CodeOK {
		ts.reject(t, code, msg, until)
		return
	}
	s.group.Go("netio", t.serve)
}

// reject tells a connection that was not admitted why — after a TLS
// handshake, as the protocol's ERROR frame — and closes it, on a goroutine
// of its own bounded by the handshake timeout and closeLinger. A refusal
// of an address penalized until until is held first, as on the plaintext
// listener (refusal.go), and its message says how long is left then.
func (ts *tlsSide) reject(t *tlsConn, code frame.Code, msg string, until time.Time) {
	if ts.rejecting.Add(1) > maxRejecting {
		ts.rejecting.Add(-1)
		t.shutdown()
		ts.untrack(t.raw)
		return
	}
	ts.s.group.Go("netio", func() error {
		defer ts.rejecting.Add(-1)
		defer ts.untrack(t.raw)
		defer t.shutdown()
		start := time.Unix(0, t.c.openedAt)
		if !until.IsZero() {
			hold := time.NewTimer(refusalDelay(until, start))
			select {
			case <-hold.C:
			case <-ts.s.quit:
				hold.Stop()
				return nil
			}
			start = time.Now()
			msg = penalizedMessage(addrKey(t.c.remote), until, start)
		}
		deadline := start.Add(min(ts.s.opts.HandshakeTimeout, closeLinger))
		_ = t.raw.SetDeadline(deadline)
		if err := t.tc.Handshake(); err != nil {
			ts.s.metrics.tlsHandshakeErrors.Inc()
			return nil
		}
		_ = t.raw.SetDeadline(time.Now().Add(closeLinger))
		n, _ := t.tc.Write(frame.AppendError(nil, 0, code, msg))
		ts.s.metrics.bytesOut.Add(n)
		return nil
	})
}

// track records an open socket, unless Stop has begun.
func (ts *tlsSide) track(raw net.Conn, shutdown func()) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.mu.down {
		return false
	}
	ts.mu.socks[raw] = shutdown
	return true
}

func (ts *tlsSide) untrack(raw net.Conn) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.mu.socks, raw)
}

// stop closes the listener and every TLS socket still open, which ends
// every goroutine of the TLS side. Stop calls it once, after draining.
func (ts *tlsSide) stop() {
	ts.mu.Lock()
	ts.mu.down = true
	shut := make([]func(), 0, len(ts.mu.socks))
	for _, f := range ts.mu.socks {
		shut = append(shut, f)
	}
	ts.mu.Unlock()
	if ts.ln != nil {
		_ = ts.ln.Close()
	}
	for _, f := range shut {
		f()
	}
}
