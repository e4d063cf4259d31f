// Package netproxy is a userspace TCP proxy for fault tests: one Proxy per
// link, listening on 127.0.0.1:0 and forwarding to a target, that a test
// can cut (reset every connection and refuse new ones, or blackhole them:
// hold them open and forward nothing, as a network partition does), delay
// (latency added per direction) and heal.
//
// A Proxy owns an accept goroutine and two copying goroutines per
// connection; Close stops and waits for all of them. It is safe for
// concurrent use.
package netproxy

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Mode is what a Proxy does with connections.
type Mode int

const (
	// Forward passes bytes through (after the configured delays).
	Forward Mode = iota
	// Reset closes every connection (with an RST: SO_LINGER 0) and closes
	// each new one at once.
	Reset
	// Blackhole holds every connection open and forwards nothing, in
	// either direction, until healed; new connections are accepted and
	// held the same way.
	Blackhole
)

// String returns "forward", "reset" or "blackhole".
func (m Mode) String() string {
	switch m {
	case Reset:
		return "reset"
	case Blackhole:
		return "blackhole"
	}
	return "forward"
}

// Proxy forwards connections from its listener to a target address.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	quit   chan struct{}
	once   sync.Once

	mu struct {
		sync.Mutex
		mode     Mode
		up, down time.Duration // delay client→target, target→client
		healed   chan struct{} // closed when mode leaves Blackhole
		conns    map[net.Conn]struct{}
		accepted int
	}
}

// New listens on 127.0.0.1:0 and forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, quit: make(chan struct{})}
	p.mu.conns = make(map[net.Conn]struct{})
	p.mu.healed = make(chan struct{})
	close(p.mu.healed)
	p.wg.Go(p.acceptLoop)
	return p, nil
}

// Addr is the address to dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted returns how many connections the proxy has accepted.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.accepted
}

// Cut cuts the link in mode Reset or Blackhole.
func (p *Proxy) Cut(mode Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.mode != Blackhole && mode == Blackhole {
		p.mu.healed = make(chan struct{})
	}
	if p.mu.mode == Blackhole && mode != Blackhole {
		close(p.mu.healed)
	}
	p.mu.mode = mode
	if mode == Reset {
		for c := range p.mu.conns {
			reset(c)
		}
	}
}

// Heal forwards again. Connections held by a blackhole carry on with the
// bytes they held.
func (p *Proxy) Heal() { p.Cut(Forward) }

// Delay adds latency to the bytes going to the target (up) and coming back
// (down); 0 removes it. Each chunk read is held for the delay before it is
// written, and the chunks behind it wait their turn, so a busy stream is
// slowed as well as delayed.
func (p *Proxy) Delay(up, down time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.up, p.mu.down = up, down
}

// Close closes the listener and every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() error {
	p.once.Do(func() {
		close(p.quit)
		_ = p.ln.Close()
		p.mu.Lock()
		for c := range p.mu.conns {
			_ = c.Close()
		}
		p.mu.conns = nil
		p.mu.Unlock()
	})
	p.wg.Wait()
	return nil
}

func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// track registers c; false (and c reset) when the proxy is closed or in
// Reset mode.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.conns == nil || p.mu.mode == Reset {
		reset(c)
		return false
	}
	p.mu.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.conns != nil {
		delete(p.mu.conns, c)
	}
	_ = c.Close()
}

func (p *Proxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		p.mu.accepted++
		p.mu.Unlock()
		if !p.track(c) {
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve dials the target for client connection c, then copies both ways.
func (p *Proxy) serve(c net.Conn) {
	defer p.untrack(c)
	if !p.waitHealed() {
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	t, err := d.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(t) {
		_ = c.Close()
		return
	}
	defer p.untrack(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		p.pipe(t, c, true)
		_ = c.Close()
		_ = t.Close()
	})
	p.pipe(c, t, false)
	_ = t.Close()
	_ = c.Close()
	wg.Wait()
}

// waitHealed waits while the proxy blackholes; false when it closed.
func (p *Proxy) waitHealed() bool {
	p.mu.Lock()
	healed := p.mu.healed
	p.mu.Unlock()
	select {
	case <-healed:
		return true
	case <-p.quit:
		return false
	}
}

// pipe copies from src to dst, holding each chunk while the proxy
// blackholes and for the direction's delay; up is client→target.
func (p *Proxy) pipe(dst, src net.Conn, up bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitHealed() {
				return
			}
			p.mu.Lock()
			d := p.mu.down
			if up {
				d = p.mu.up
			}
			p.mu.Unlock()
			if d > 0 && !p.sleep(d) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// sleep waits d (the injected latency) unless the proxy closes.
func (p *Proxy) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.quit:
		return false
	}
}
