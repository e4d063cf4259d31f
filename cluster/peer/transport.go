package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

// The errors of Send and Call; compare with errors.Is.
var (
	// ErrUnknownPeer means the id is not one of Options.Peers.
	ErrUnknownPeer = errors.New("swarmmq/peer: unknown peer")
	// ErrNotConnected means the link to the peer is down; the frame was
	// dropped.
	ErrNotConnected = errors.New("swarmmq/peer: not connected")
	// ErrQueueFull means the peer's queue is full; the frame was dropped.
	ErrQueueFull = errors.New("swarmmq/peer: queue full")
	// ErrTooLarge means the frame would exceed the link's max frame.
	ErrTooLarge = errors.New("swarmmq/peer: frame larger than the max frame")
	// ErrBadType means Send was given a type that is not one-way (RAFT).
	ErrBadType = errors.New("swarmmq/peer: not a one-way frame type")
	// ErrConnLost means the link went down before the answer came.
	ErrConnLost = errors.New("swarmmq/peer: link lost before the answer")
	// ErrTooManyRequests means MaxPending calls to the peer are in flight.
	ErrTooManyRequests = errors.New("swarmmq/peer: too many requests in flight")
	// ErrClosed means the transport is closed.
	ErrClosed = errors.New("swarmmq/peer: transport closed")
)

// Handler receives what peers send. Its methods are called on the reader
// goroutine of the peer's link, one frame at a time in the order the peer
// sent them: a slow handler slows that link only (TCP then pushes back on
// the peer). payload is valid only during the call: copy what must outlive
// it. A Handler is called concurrently for different peers.
type Handler interface {
	// HandleFrame receives a one-way frame (RAFT).
	HandleFrame(from string, t frame.Type, payload []byte)
	// HandleRequest receives a REQUEST; answer it once through r, from
	// any goroutine, now or later.
	HandleRequest(from string, payload []byte, r Responder)
}

// Transport is a node's set of links to the other nodes of its cluster. It
// is safe for concurrent use.
type Transport struct {
	opts   Options
	ln     net.Listener
	links  map[string]*link
	ids    []string // sorted peer ids
	quit   chan struct{}
	ctx    context.Context // ends when the transport closes
	cancel context.CancelFunc
	group  graph.Group
	accept *tls.Config // nil without TLS
	corr   atomic.Uint64
	sem    chan struct{} // bounds handshakes in progress
	start  sync.Once
	close  sync.Once

	refused *metrics.Counter

	mu struct {
		sync.Mutex
		conns  map[net.Conn]struct{}
		closed bool
		rand   *rand.Rand
	}
}

// maxHandshakes bounds the inbound connections between accept and the end
// of their handshake; more are closed at once.
const maxHandshakes = 64

// New checks opts and builds a transport. It starts nothing: call Start.
func New(opts Options) (*Transport, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	t := &Transport{
		opts:  opts,
		links: make(map[string]*link),
		quit:  make(chan struct{}),
		sem:   make(chan struct{}, maxHandshakes),
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if opts.TLS != nil {
		t.accept = serverTLS(opts.TLS)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.mu.rand = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.mu.conns = make(map[net.Conn]struct{})
	for id, addr := range opts.Peers {
		if id == opts.ID {
			continue
		}
		t.links[id] = newLink(t, id, addr)
		t.ids = append(t.ids, id)
	}
	slices.Sort(t.ids)
	t.refused = opts.Metrics.NewCounter("swarmmq_peer_handshakes_refused_total")
	return t, nil
}

// Start listens on Options.ListenAddr and starts the links: the accept
// loop, and a dial loop for every peer whose id is greater than this
// node's (docs/cluster.md, "Node-to-node links").
func (t *Transport) Start() error {
	err := ErrClosed
	t.start.Do(func() {
		err = nil
		ln := t.opts.Listener
		if ln == nil {
			ln, err = net.Listen("tcp", t.opts.ListenAddr)
		}
		if err != nil {
			err = fmt.Errorf("swarmmq/peer: cannot listen on %s: %w", t.opts.ListenAddr, err)
			return
		}
		t.ln = ln
		t.group.Go("peer-accept", func() error { t.acceptLoop(); return nil })
		for _, id := range t.ids {
			if l := t.links[id]; l.dials {
				t.group.Go("peer-dial", func() error { l.dialLoop(); return nil })
			}
		}
	})
	return err
}

// Addr returns the address the transport accepts links on, or nil before
// Start.
func (t *Transport) Addr() net.Addr {
	if t.ln == nil {
		return nil
	}
	return t.ln.Addr()
}

// Close closes every link and the listener and waits for every goroutine
// of the transport. Calls waiting for an answer fail with ErrConnLost. It
// may be called more than once.
func (t *Transport) Close() error {
	t.close.Do(func() {
		close(t.quit)
		t.cancel()
		t.start.Do(func() {}) // a later Start fails with ErrClosed
		if t.ln != nil {
			_ = t.ln.Close()
		} else if t.opts.Listener != nil {
			_ = t.opts.Listener.Close()
		}
		t.mu.Lock()
		t.mu.closed = true
		for c := range t.mu.conns {
			_ = c.Close()
		}
		t.mu.Unlock()
	})
	return t.group.Wait()
}

// Send queues one frame of type t (RAFT) for peer to and returns at once.
// It never blocks: when the link is down or the peer's queue is full the
// frame is dropped, counted, and the error says why (raft retransmits).
// payload is copied.
func (t *Transport) Send(to string, ft frame.Type, payload []byte) error {
	if ft != frame.TypeRaft {
		return fmt.Errorf("%w: %s", ErrBadType, ft)
	}
	l, ok := t.links[to]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownPeer, to)
	}
	if t.closed() {
		return ErrClosed
	}
	return l.enqueue(out{t: ft, payload: payload})
}

// Call sends a REQUEST to peer to and waits for its answer: the RESPONSE's
// payload, or the *frame.Error of an ERROR answer. It fails without
// waiting when the request cannot be queued, and when the link goes down
// (ErrConnLost), ctx ends, or the transport closes. A ctx without deadline
// gets Options.RequestTimeout.
func (t *Transport) Call(ctx context.Context, to string, payload []byte) ([]byte, error) {
	l, ok := t.links[to]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownPeer, to)
	}
	if t.closed() {
		return nil, ErrClosed
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.opts.RequestTimeout)
		defer cancel()
	}
	return l.call(ctx, payload)
}

// Status describes one link. It is a plain value.
type Status struct {
	// ID and Addr are the peer's id and address.
	ID, Addr string
	// Connected reports whether the link is up.
	Connected bool
	// LastContact is when the last frame arrived from the peer (zero if
	// none ever did).
	LastContact time.Time
	// LastError is why the link last failed or was refused, nil if it
	// never did.
	LastError error
	// Reconnects counts the links established after the first.
	Reconnects uint64
}

// Peers returns the status of every link, sorted by peer id.
func (t *Transport) Peers() []Status {
	out := make([]Status, 0, len(t.ids))
	for _, id := range t.ids {
		out = append(out, t.links[id].status())
	}
	return out
}

// closed reports whether Close has been called.
func (t *Transport) closed() bool {
	select {
	case <-t.quit:
		return true
	default:
		return false
	}
}

// track registers c so that Close closes it; false (and c closed) when
// the transport is closed.
func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.closed {
		_ = c.Close()
		return false
	}
	t.mu.conns[c] = struct{}{}
	return true
}

func (t *Transport) untrack(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.mu.conns, c)
	_ = c.Close()
}

// jitter returns a uniform draw in [0, 1).
func (t *Transport) jitter() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.rand.Float64()
}

// backoff returns the delay before dial attempt n (from 0): min doubled n
// times, capped at max, of which a random half (u in [0, 1)) is kept.
func backoff(n int, lo, hi time.Duration, u float64) time.Duration {
	d := hi
	if n < 32 && lo<<n < hi && lo<<n > 0 {
		d = lo << n
	}
	return d/2 + time.Duration(u*float64(d/2))
}

// wait waits d or until the transport closes; false when it closed.
func (t *Transport) wait(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.quit:
		return false
	}
}
