package clienttest

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/swarmmq/swarmmq/frame"
)

// DefaultNodeID is the node id a Server announces unless Options.NodeID
// says otherwise.
const DefaultNodeID = "fake-1"

// Options configures a Server. Zero fields mean the defaults. Its hooks
// are called from the Server's connection goroutines, concurrently.
type Options struct {
	// NodeID is announced in HELLO_OK (default DefaultNodeID).
	NodeID string
	// Credits is the grant in HELLO_OK; 0 grants what the client asked.
	Credits uint32
	// MaxFrame is the server's largest frame (default frame.DefaultMaxFrame);
	// HELLO_OK announces the smaller of it and the client's.
	MaxFrame uint32
	// HelloError, when set, refuses every handshake with this ERROR and
	// closes the connection.
	HelloError *frame.Error
	// Limits, when not nil, are listed in HELLO_OK to a client whose HELLO
	// asks for them (frame.FlagLimits); nil answers as a node from before
	// limits did, without them.
	Limits []frame.Limit
	// Intercept, when set, sees every frame after the handshake before the
	// broker; returning true means the test took care of it (it may answer
	// later with Conn.Send, hand it to Conn.Serve, or never answer).
	Intercept func(c *Conn, f Frame) bool
	// Reject, when set, is asked about every published message that
	// passed its CRC check; a code other than CodeOK is that message's
	// PUBLISH_ACK code and the message is not stored.
	Reject func(dest string, m frame.Message) frame.Code
	// Record keeps a copy of every frame received, HELLO included, for
	// Frames.
	Record bool
	// Discard keeps no message bodies and no dedupe ids (for benchmarks):
	// publishes get seqs and FETCH returns nothing.
	Discard bool
	// NoMetadata makes the Server a node from before METADATA: it answers
	// METADATA with ERROR UNKNOWN_TYPE (correlation id 0) and closes the
	// connection. By default it answers as a single node (it leads every
	// partition), or as a member of its Cluster.
	NoMetadata bool
	// NodeKeys, for a Cluster, keys each node's producer tokens apart, as
	// nodes that do not share a producer key do: a session opened on one
	// node is refused (BAD_PRODUCER) by the others.
	NodeKeys bool
}

// Frame is a received frame: the decoded header and body, and the whole
// frame's bytes. It owns its memory (Body is a view into Raw) and is safe
// for concurrent reads.
type Frame struct {
	frame.Frame
	// Conn is the id of the connection it arrived on (1 for the first).
	Conn int
	// Raw is the whole frame, header included, as received.
	Raw []byte
}

// Server is a fake node listening on 127.0.0.1. It is safe for concurrent
// use.
type Server struct {
	opts     Options
	addr     string
	b        *broker
	cluster  *Cluster // nil: a single node
	index    int      // its place in cluster.Nodes
	salt     uint64   // keys its producer tokens (Options.NodeKeys)
	wg       sync.WaitGroup
	accepted atomic.Int64

	mu struct {
		sync.Mutex
		conns  map[*Conn]struct{}
		frames []Frame
		closed bool
		ln     net.Listener // nil while stopped
	}
}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start(opts Options) (*Server, error) {
	return startOn(opts, "127.0.0.1:0", nil)
}

// startOn listens on addr and serves over b (a new broker when nil).
func startOn(opts Options, addr string, b *broker) (*Server, error) {
	if opts.NodeID == "" {
		opts.NodeID = DefaultNodeID
	}
	if opts.MaxFrame == 0 {
		opts.MaxFrame = frame.DefaultMaxFrame
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = newBroker(opts.Discard, opts.Reject)
	}
	s := &Server{opts: opts, b: b, addr: ln.Addr().String()}
	s.mu.conns = make(map[*Conn]struct{})
	s.mu.ln = ln
	s.wg.Add(1)
	go s.acceptLoop(ln)
	return s, nil
}

// Addr returns the host:port clients dial.
func (s *Server) Addr() string {
	return s.addr
}

// Stop makes the node go away, as a crash or a network cut does: it
// stops listening (new connections are refused) and closes every open
// connection, keeping the stored messages for Resume.
func (s *Server) Stop() {
	s.mu.Lock()
	ln := s.mu.ln
	s.mu.ln = nil
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	s.DropConnections()
}

// Resume listens again on the address of the Server after Stop, with
// the messages it stored before.
func (s *Server) Resume() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.mu.closed || s.mu.ln != nil {
		s.mu.Unlock()
		_ = ln.Close()
		return errors.New("clienttest: Resume of a server that is closed or not stopped")
	}
	s.mu.ln = ln
	s.wg.Add(1)
	s.mu.Unlock()
	go s.acceptLoop(ln)
	return nil
}

// Accepted returns how many connections the server has accepted.
func (s *Server) Accepted() int {
	return int(s.accepted.Load())
}

// Frames returns copies of the frames received so far (Options.Record).
func (s *Server) Frames() []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Frame(nil), s.mu.frames...)
}

// Messages returns the messages stored in dest, in seq order (seq = index
// + 1); their payloads are copies.
func (s *Server) Messages(dest string) []frame.Message {
	return s.b.messages(dest)
}

// Update rewrites message seq of dest: fn changes the decoded message
// (its Payload is a copy it may modify), which is stored again with a
// correct CRC, as a tampering node or disk that fixes up checksums would.
// It reports whether the message exists.
func (s *Server) Update(dest string, seq uint64, fn func(m *frame.Message)) bool {
	return s.b.update(dest, seq, fn)
}

// DeadLetter copies message seq of dest, bytes unchanged, to the end of
// the destination dest.dlq, as a node does after max_deliver attempts,
// and returns its seq there. ok is false if the message does not exist.
// The message stays in dest too (the fake keeps no per-group dead
// letters).
func (s *Server) DeadLetter(dest string, seq uint64) (dlqSeq uint64, ok bool) {
	return s.b.deadLetter(dest, seq)
}

// TermReason returns the reason of the TERM that copied message seq of
// the dead-letter destination dlq there; ok is false for a message no
// TERM put there.
func (s *Server) TermReason(dlq string, seq uint64) (reason string, ok bool) {
	return s.b.termReason(dlq, seq)
}

// DropConnections closes every open connection, as a crash would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Close stops listening, closes every connection, stops the parked
// fetches and waits for the server's goroutines. It may be called more
// than once.
func (s *Server) Close() {
	s.mu.Lock()
	already := s.mu.closed
	s.mu.closed = true
	ln := s.mu.ln
	s.mu.ln = nil
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	if !already {
		s.DropConnections()
		if s.cluster == nil {
			s.b.close()
		}
	}
	s.wg.Wait()
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{s: s, nc: nc, id: int(s.accepted.Add(1))}
		s.mu.Lock()
		if s.mu.closed || s.mu.ln != ln {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.mu.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *Server) record(f Frame) {
	if !s.opts.Record {
		return
	}
	s.mu.Lock()
	s.mu.frames = append(s.mu.frames, f)
	s.mu.Unlock()
}

func (s *Server) forget(c *Conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}

// errClosed is returned by Send on a closed connection.
var errClosed = errors.New("clienttest: connection closed")
