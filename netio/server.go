package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	Conn *Conn
	// Buf holds exactly one whole frame, header included.
	Buf *bytebufferpool.ByteBuffer
}

// Frame decodes the frame in in.Buf; Body is a view into in.Buf, valid until
// Release. netio has already checked the header, so this cannot fail for an
// Inbound netio produced.
func (in Inbound) Frame() (frame.Frame, error) {
	f, _, err := frame.Decode(in.Buf.B, len(in.Buf.B))
	return f, err
}

// Release returns in.Buf to the pool of the Server that received it.
func (in Inbound) Release() {
	in.Conn.srv.ReleaseBuf(in.Buf)
}

// A Server is the netio stage of a node's topology.
var _ graph.Stage = (*Server)(nil)

type serverState int

const (
	stateNew serverState = iota
	stateRunning
	stateStopped
)

// Server accepts SwarmMQ connections with gnet, handles the
// connection-level frames (HELLO, PING) itself, and hands every other whole
// frame to the out ring as an Inbound. See the package documentation for
// its goroutines, backpressure and shutdown.
//
// Server is safe for concurrent use.
type Server struct {
	opts    Options
	out     *graph.Ring[Inbound]
	h       *handler
	metrics serverMetrics
	inBufs  bytebufferpool.Pool // Inbound buffers
	outBufs bytebufferpool.Pool // per-connection write queues

	nextID    atomic.Uint64
	draining  atomic.Bool // StopReading called: no reading, no accepting
	tickEvery time.Duration

	group   graph.Group
	booted  chan gnet.Engine // OnBoot hands over the engine
	runDone chan struct{}    // closed when gnet.Run has returned
	runErr  error            // gnet.Run's result, set before runDone closes
	quit    chan struct{}    // closed to stop the housekeeper

	mu struct {
		sync.Mutex
		state  serverState
		ran    bool // Start succeeded
		engine gnet.Engine
		addr   net.Addr
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
		m     map[uint64]*Conn
		empty chan struct{} // closed when m empties while draining
	}
	parked struct {
		sync.Mutex
		m map[*Conn]struct{} // connections held back by a full ring
	}
	stopOnce sync.Once
}

// New checks opts and returns a Server that will push inbound frames to out.
// It starts nothing.
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
	s.tickEvery = tickInterval(opts.HandshakeTimeout, opts.IdleTimeout)
	s.metrics = newServerMetrics(opts.Metrics, s)
	s.conns.m = make(map[uint64]*Conn)
	s.parked.m = make(map[*Conn]struct{})
	return s, nil
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

// Start listens and runs gnet's event loops and netio's housekeeping
// goroutine. It returns once the listener is bound, or the listen error.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.state != stateNew {
		return ErrServerState
	}
	s.group.Go("netio", s.serve)
	select {
	case eng := <-s.booted:
		s.mu.engine = eng
	case <-s.runDone:
		s.mu.state = stateStopped
		_ = s.group.Wait()
		return fmt.Errorf("swarmmq/netio: cannot listen on %s: %w", s.opts.Addr, s.runErr)
	}
	addr, err := listenerAddr(s.mu.engine)
	if err != nil {
		s.opts.Logger.Warn("netio: cannot read listener address", "err", err)
	}
	s.mu.addr = addr
	s.mu.state = stateRunning
	s.mu.ran = true
	s.group.Go("netio", s.housekeep)
	s.opts.Logger.Info("netio: listening", "addr", addr)
	return nil
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
	s.runErr = gnet.Run(s.h, "tcp://"+s.opts.Addr, opts...)
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

// Addr returns the address the server listens on, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.addr
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
// and close it, stop gnet and wait for every goroutine. If ctx ends first,
// the remaining connections are closed at once and Stop returns ctx.Err()
// (after signalling everything to stop; call Stop again to wait). Stop is
// idempotent; before Start, or after a failed Start, it does nothing.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	ran, eng := s.mu.ran, s.mu.engine
	s.mu.state = stateStopped
	s.mu.Unlock()
	if !ran {
		return nil // never started, or Start failed and cleaned up
	}
	s.StopReading()
	drainErr := s.drain(ctx)
	s.stopOnce.Do(func() {
		s.gnetMu.Lock()
		s.gnetMu.down = true
		s.gnetMu.Unlock()
		// Engine.Stop signals the shutdown, then polls every 500ms until
		// it is done. Give it a cancelled context so it only signals; we
		// wait for gnet.Run to return instead.
		signalOnly, cancel := context.WithCancel(context.Background())
		cancel()
		_ = eng.Stop(signalOnly)
		close(s.quit)
	})
	select {
	case <-s.runDone:
	case <-ctx.Done():
		return ctx.Err()
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
			s.execute(c, c.drainTask)
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

// execute runs task on c's event loop, unless gnet is shutting down.
func (s *Server) execute(c *Conn, task gnet.Runnable) {
	s.gnetMu.RLock()
	defer s.gnetMu.RUnlock()
	if s.gnetMu.down {
		return
	}
	_ = c.gc.EventLoop().Execute(context.Background(), task)
}

// wake makes gnet call OnTraffic for c again, unless gnet is shutting down.
func (s *Server) wake(c *Conn) {
	s.gnetMu.RLock()
	defer s.gnetMu.RUnlock()
	if s.gnetMu.down {
		return
	}
	_ = c.gc.Wake(nil)
}

// Connections returns the number of open client connections.
func (s *Server) Connections() int {
	s.conns.Lock()
	defer s.conns.Unlock()
	return len(s.conns.m)
}
