package netio

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

// Errors returned by Server and Conn.
var (
	// ErrClosed means the connection is closed or closing.
	ErrClosed = errors.New("swarmmq/netio: connection closed")
	// ErrSlowConsumer means a Send would exceed MaxOutbound; the connection
	// is being closed with ERROR SLOW_CONSUMER.
	ErrSlowConsumer = errors.New("swarmmq/netio: slow consumer")
	// ErrServerState means Start was called twice or after Stop.
	ErrServerState = errors.New("swarmmq/netio: server already started or stopped")
)

// drainPoll is how often Stop re-checks connections whose writes have not
// drained: gnet reports no "outbound buffer empty" event, so Stop polls.
const drainPoll = 2 * time.Millisecond

// Inbound is one whole frame (header included) received on Conn, copied out
// of gnet's buffer into a pooled buffer. The consumer owns Buf and must hand
// it back with Release (or Server.ReleaseBuf) when done with it and with
// every view into it.
type Inbound struct {
	// Conn is the connection the frame arrived on; replies go to Conn.Send.
	// Nil for a frame that did not arrive on a client connection (see
	// Remote).
	Conn *Conn
	// Remote, set when Conn is nil, answers a frame another node forwarded
	// on behalf of its client (package cluster/forward).
	Remote Replier
	// Buf holds exactly one whole frame, header included.
	Buf *bytebufferpool.ByteBuffer

	size int32 // bytes counted against Conn's and the server's budget until Release
}

// Replier is what answers a frame that did not arrive on a client
// connection: the methods of Conn the stages use. Release of its Inbound
// hands Buf to Replier.ReleaseBuf.
type Replier interface {
	Send(b []byte) error
	SendError(corr uint64, code frame.Code, msg string) error
	Closed() bool
	MaxFrame() int
	// Producer is the producer session the frame was sent in (0: none).
	Producer() uint64
	// ReleaseBuf takes back the Inbound's buffer.
	ReleaseBuf(b *bytebufferpool.ByteBuffer)
}

// Frame decodes the frame in in.Buf; Body is a view into in.Buf, valid until
// Release. netio has already checked the header, so this cannot fail for an
// Inbound netio produced.
func (in Inbound) Frame() (frame.Frame, error) {
	f, _, err := frame.Decode(in.Buf.B, len(in.Buf.B))
	return f, err
}

// Release returns in.Buf to the pool of the Server that received it, and
// its bytes to the connection's and the server's budget.
func (in Inbound) Release() {
	if in.Conn == nil {
		in.Remote.ReleaseBuf(in.Buf)
		return
	}
	if in.size > 0 {
		in.Conn.releasedFrame(int64(in.size))
	}
	in.Conn.srv.ReleaseBuf(in.Buf)
}

// ReleaseBuf returns an Inbound buffer to the pool of c's server.
func (c *Conn) ReleaseBuf(b *bytebufferpool.ByteBuffer) { c.srv.ReleaseBuf(b) }

var _ Replier = (*Conn)(nil)

// Replier returns who answers the frame: Conn, or Remote when Conn is nil.
func (in Inbound) Replier() Replier {
	if in.Conn == nil {
		return in.Remote
	}
	return in.Conn
}

// A Server is the netio stage of a node's topology.
var _ graph.Stage = (*Server)(nil)

type serverState int

const (
	stateNew serverState = iota
	stateRunning
	stateStopped
)

// Server accepts SwarmMQ connections — plaintext through gnet, TLS 1.3
// through crypto/tls, or both — handles the connection-level frames (HELLO,
// PING) itself, and hands every other whole frame to the out ring as an
// Inbound. See the package documentation for its goroutines, backpressure
// and shutdown.
//
// Server is safe for concurrent use.
type Server struct {
	opts      Options
	out       *graph.Ring[Inbound]
	h         *handler
	tls       *tlsSide // nil without Options.TLS
	plain     string   // the gnet listener's address; "" when there is none
	metrics   serverMetrics
	budget    budget              // bytes held for clients (budget.go)
	penalties *penalties          // addresses refused after FLOW_CONTROL (penalty.go)
	inBufs    bytebufferpool.Pool // Inbound buffers
	outBufs   bytebufferpool.Pool // per-connection write queues

	backlogAt int64 // Conn.Backlogged from this many bytes unwritten
	nextID    atomic.Uint64
	draining  atomic.Bool // StopReading called: no reading, no accepting
	tickEvery time.Duration

	group   graph.Group
	booted  chan gnet.Engine // OnBoot hands over the engine
	runDone chan struct{}    // closed when gnet.Run has returned
	runErr  error            // gnet.Run's result, set before runDone closes
	quit    chan struct{}    // closed to stop the housekeeper and the accept loop

	mu struct {
		sync.Mutex
		state     serverState
		ran       bool // Start succeeded
		gnet      bool // gnet runs (engine is valid)
		engine    gnet.Engine
		addr      net.Addr // the listener at Options.Addr
		plainAddr net.Addr // the gnet listener at Options.PlainAddr, with TLS
	}
	// gnetMu guards calls into gnet from outside its event loops: once the
	// engine starts shutting down it closes its pollers, and a late Wake or
	// Execute would write to a closed (or reused) file descriptor.
	gnetMu struct {
		sync.RWMutex
		down bool
	}
	conns struct {
		sync.Mutex
		m     map[uint64]*Conn   // every admitted connection, both transports
		perIP map[netip.Addr]int // admitted connections by remote address (idle.go)
		empty chan struct{}      // closed when m empties while draining
	}
	parked struct {
		sync.Mutex
		m map[*Conn]struct{} // connections held back by a full ring
	}
	refusals struct {
		sync.Mutex
		held []heldRefusal // refusals of penalized addresses waiting for their time (refusal.go)
	}
	stopOnce sync.Once
}

// New checks opts and returns a Server that will push inbound frames to out.
// It starts nothing. With opts.TLS set, the server uses a clone of it whose
// MinVersion is TLS 1.3.
func New(opts Options, out *graph.Ring[Inbound]) (*Server, error) {
	if out == nil {
		return nil, errors.New("swarmmq/netio: nil out ring")
	}
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("swarmmq/netio: invalid options: %w", err)
	}
	s := &Server{
		opts:    opts,
		out:     out,
		booted:  make(chan gnet.Engine, 1),
		runDone: make(chan struct{}),
		quit:    make(chan struct{}),
	}
	s.h = &handler{s: s}
	s.plain = opts.Addr
	if opts.TLS != nil {
		cfg := tls13Only(opts.TLS)
		s.opts.TLS = cfg
		s.tls = newTLSSide(s, cfg)
		s.plain = opts.PlainAddr
	}
	s.tickEvery = tickInterval(opts.HandshakeTimeout, opts.IdleTimeout)
	s.budget.limit = opts.MaxBuffered
	s.backlogAt = int64(min(opts.MaxOutbound/2, opts.MaxFrame))
	s.penalties = newPenalties(opts.FlowControlPenalty, penaltyTableSize)
	s.budget.freed = make(chan struct{}, 1)
	s.metrics = newServerMetrics(opts.Metrics, s)
	s.conns.m = make(map[uint64]*Conn)
	s.conns.perIP = make(map[netip.Addr]int)
	s.parked.m = make(map[*Conn]struct{})
	return s, nil
}

// tls13Only returns a clone of cfg that negotiates nothing below TLS 1.3,
// also through the configs its GetConfigForClient returns.
func tls13Only(cfg *tls.Config) *tls.Config {
	cfg = cfg.Clone()
	cfg.MinVersion = tls.VersionTLS13
	if get := cfg.GetConfigForClient; get != nil {
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := get(hello)
			if c != nil && c.MinVersion < tls.VersionTLS13 {
				c = c.Clone()
				c.MinVersion = tls.VersionTLS13
			}
			return c, err
		}
	}
	return cfg
}

// tickInterval returns how often to check deadlines: a quarter of the
// shortest timeout, within [5ms, 1s].
func tickInterval(timeouts ...time.Duration) time.Duration {
	every := time.Second
	for _, d := range timeouts {
		if d > 0 {
			every = min(every, d/4)
		}
	}
	return max(every, 5*time.Millisecond)
}

// Start listens — on Addr (TLS when Options.TLS is set, else gnet), and on
// PlainAddr (gnet) when set — and runs the listeners' goroutines and
// netio's housekeeping goroutine. It returns once every listener is bound,
// or the first listen error (having closed what it opened).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.state != stateNew {
		return ErrServerState
	}
	if s.tls != nil {
		ln, err := net.Listen("tcp", s.opts.Addr)
		if err != nil {
			s.mu.state = stateStopped
			return fmt.Errorf("swarmmq/netio: cannot listen on %s: %w", s.opts.Addr, err)
		}
		s.tls.ln = ln
		s.mu.addr = ln.Addr()
	}
	if s.plain != "" {
		addr, err := s.startGnetLocked()
		if err != nil {
			if s.tls != nil {
				_ = s.tls.ln.Close()
			}
			s.mu.state = stateStopped
			return err
		}
		if s.tls != nil {
			s.mu.plainAddr = addr
		} else {
			s.mu.addr = addr
		}
	}
	s.mu.state = stateRunning
	s.mu.ran = true
	if s.tls != nil {
		s.group.Go("netio", s.tls.acceptLoop)
	}
	s.group.Go("netio", s.housekeep)
	s.opts.Logger.Info("netio: listening", "addr", s.mu.addr, "tls", s.tls != nil, "plain_addr", s.mu.plainAddr)
	return nil
}

// startGnetLocked runs gnet on s.plain and returns the bound address.
func (s *Server) startGnetLocked() (net.Addr, error) {
	s.group.Go("netio", s.serve)
	select {
	case eng := <-s.booted:
		s.mu.engine = eng
		s.mu.gnet = true
	case <-s.runDone:
		_ = s.group.Wait()
		return nil, fmt.Errorf("swarmmq/netio: cannot listen on %s: %w", s.plain, s.runErr)
	}
	addr, err := listenerAddr(s.mu.engine)
	if err != nil {
		s.opts.Logger.Warn("netio: cannot read listener address", "err", err)
	}
	return addr, nil
}

// serve runs gnet until the engine stops.
func (s *Server) serve() error {
	defer close(s.runDone)
	opts := []gnet.Option{
		gnet.WithMulticore(s.opts.Multicore),
		gnet.WithNumEventLoop(s.opts.NumEventLoop),
		gnet.WithReuseAddr(true),
		gnet.WithLogger(gnetLogger{s.opts.Logger}),
	}
	s.runErr = gnet.Run(s.h, "tcp://"+s.plain, opts...)
	return s.runErr
}

// listenerAddr reads the bound address (the port ":0" resolved to) from a
// duplicate of the listener's descriptor.
func listenerAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd) //nolint:errcheck // a dup we only read from
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}, nil
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}, nil
	}
	return nil, fmt.Errorf("unexpected listener address type %T", sa)
}

// Addr returns the address of the main listener, at Options.Addr (TLS when
// Options.TLS is set), or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.addr
}

// PlainAddr returns the address of the additional plaintext listener at
// Options.PlainAddr, or nil when there is none or before Start.
func (s *Server) PlainAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.plainAddr
}

// GetBuf returns an empty buffer from the pool Inbound buffers come from.
func (s *Server) GetBuf() *bytebufferpool.ByteBuffer { return s.inBufs.Get() }

// ReleaseBuf returns an Inbound buffer to the pool. b must not be used after.
func (s *Server) ReleaseBuf(b *bytebufferpool.ByteBuffer) { s.inBufs.Put(b) }

// StopReading stops accepting connections (new ones get ERROR
// SHUTTING_DOWN) and stops reading: bytes that arrive are dropped, and
// frames held back by a full ring are never delivered. Writes keep flowing.
// It returns at once and is idempotent; Stop calls it. A node calls it
// first, then stops the stages behind netio so their replies still go out,
// then calls Stop.
func (s *Server) StopReading() {
	s.conns.Lock()
	defer s.conns.Unlock()
	if s.draining.Load() {
		return
	}
	s.conns.empty = make(chan struct{})
	if len(s.conns.m) == 0 {
		close(s.conns.empty)
	}
	s.draining.Store(true)
}

// Stop shuts the server down: StopReading, then let every connection's
// queued writes reach the socket (bounded by ctx), send ERROR SHUTTING_DOWN
// and close it, stop gnet and the TLS listener and wait for every
// goroutine. If ctx ends first, the remaining connections are closed at
// once and Stop returns ctx.Err() (after signalling everything to stop;
// call Stop again to wait). Stop is idempotent; before Start, or after a
// failed Start, it does nothing.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	ran, hasGnet, eng := s.mu.ran, s.mu.gnet, s.mu.engine
	s.mu.state = stateStopped
	s.mu.Unlock()
	if !ran {
		return nil // never started, or Start failed and cleaned up
	}
	s.StopReading()
	drainErr := s.drain(ctx)
	s.stopOnce.Do(func() {
		if hasGnet {
			s.gnetMu.Lock()
			s.gnetMu.down = true
			s.gnetMu.Unlock()
			// Engine.Stop signals the shutdown, then polls every 500ms
			// until it is done. Give it a cancelled context so it only
			// signals; we wait for gnet.Run to return instead.
			signalOnly, cancel := context.WithCancel(context.Background())
			cancel()
			_ = eng.Stop(signalOnly)
		}
		if s.tls != nil {
			s.tls.stop()
		}
		close(s.quit)
	})
	if hasGnet {
		select {
		case <-s.runDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.group.Wait(); err != nil {
		return fmt.Errorf("swarmmq/netio: %w", err)
	}
	return drainErr
}

// drain closes every connection once its writes have drained, until none is
// left or ctx ends.
func (s *Server) drain(ctx context.Context) error {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		conns := s.snapshotConns()
		if len(conns) == 0 {
			return nil
		}
		for _, c := range conns {
			c.tr.drain()
		}
		select {
		case <-s.conns.empty:
			return nil
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) snapshotConns() []*Conn {
	s.conns.Lock()
	defer s.conns.Unlock()
	conns := make([]*Conn, 0, len(s.conns.m))
	for _, c := range s.conns.m {
		conns = append(conns, c)
	}
	return conns
}

// execute runs task on gc's event loop, unless gnet is shutting down.
func (s *Server) execute(gc gnet.Conn, task gnet.Runnable) {
	s.gnetMu.RLock()
	defer s.gnetMu.RUnlock()
	if s.gnetMu.down {
		return
	}
	_ = gc.EventLoop().Execute(context.Background(), task)
}

// Connections returns the number of open client connections, over every
// listener.
func (s *Server) Connections() int {
	s.conns.Lock()
	defer s.conns.Unlock()
	return len(s.conns.m)
}
