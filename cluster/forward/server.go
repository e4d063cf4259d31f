package forward

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/bytebufferpool"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
)

// Responder answers one forwarded request; peer.Responder is one.
type Responder interface {
	Reply(payload []byte) error
	Fail(code frame.Code, msg string) error
}

// ServerOptions configure a Server.
type ServerOptions struct {
	// MaxFrame is the largest client frame the node accepts.
	MaxFrame int
	// MaxInFlight bounds the forwarded requests being served at once;
	// beyond it they fail with NOT_LEADER (the client then comes itself).
	MaxInFlight int
	// Metrics receives swarmmq_forward_served_total; nil keeps it private.
	Metrics *metrics.Set
}

// Server is the leader's side: it feeds forwarded frames to the decode
// stage. Safe for concurrent use.
type Server struct {
	opts  ServerOptions
	in    *graph.Ring[netio.Inbound]
	bufs  bytebufferpool.Pool
	slots chan struct{}
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc

	served, refused *metrics.Counter
}

// NewServer returns a Server that pushes forwarded frames into in (the
// decode stage's ring).
func NewServer(opts ServerOptions, in *graph.Ring[netio.Inbound]) *Server {
	if opts.MaxFrame == 0 {
		opts.MaxFrame = netio.DefaultMaxFrame
	}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	s := &Server{opts: opts, in: in, slots: make(chan struct{}, opts.MaxInFlight),
		served:  set.NewCounter(`swarmmq_forward_served_total{result="accepted"}`),
		refused: set.NewCounter(`swarmmq_forward_served_total{result="refused"}`)}
	s.ctx, s.stop = context.WithCancel(context.Background())
	return s
}

// Handle serves one forwarding REQUEST from peer from: it is answered
// through resp once the pipeline has answered the client frame it carries.
// It does not block (it is called on the peer link's reader).
func (s *Server) Handle(from string, payload []byte, resp Responder) {
	e, err := DecodeEnvelope(payload, s.opts.MaxFrame)
	if err != nil {
		s.refused.Inc()
		_ = resp.Fail(frame.CodeBadRequest, fmt.Sprintf("from %s: %v", from, err))
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.refused.Inc()
		_ = resp.Fail(frame.CodeNotLeader, "too many forwarded requests in flight: send to the leader directly")
		return
	}
	if s.ctx.Err() != nil {
		<-s.slots
		_ = resp.Fail(frame.CodeNotLeader, "the node is stopping")
		return
	}
	s.served.Inc()
	buf := s.bufs.Get()
	buf.B = append(buf.B[:0], e.Frame...)
	rep := &replier{s: s, resp: resp, producer: e.Producer, maxFrame: int(e.MaxFrame)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Push blocks while decode is full: that is the leader's
		// backpressure, felt by the forwarding node's request only.
		if err := s.in.Push(s.ctx, netio.Inbound{Remote: rep, Buf: buf}); err != nil {
			rep.ReleaseBuf(buf) // fails it: the node is stopping
		}
	}()
}

// Stop refuses new requests, fails those waiting for the decode ring, and
// waits for them, bounded by ctx. Requests already in the pipeline are
// answered by it.
func (s *Server) Stop(ctx context.Context) error {
	s.stop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// replier answers one forwarded frame through the peer link: the first
// Send or SendError is the answer. The request's slot is freed when the
// pipeline releases the frame's buffer (every request is released once);
// a request released without an answer fails then, so the forwarding node
// never waits for its timeout.
type replier struct {
	s        *Server
	resp     Responder
	producer uint64
	maxFrame int
	done     atomic.Bool
}

var _ netio.Replier = (*replier)(nil)

func (r *replier) Send(b []byte) error {
	if !r.done.CompareAndSwap(false, true) {
		return netio.ErrClosed
	}
	return r.resp.Reply(b)
}

func (r *replier) SendError(corr uint64, code frame.Code, msg string) error {
	return r.Send(frame.AppendError(nil, corr, code, msg))
}

// ReleaseBuf takes the frame's buffer back and frees the request's slot.
func (r *replier) ReleaseBuf(b *bytebufferpool.ByteBuffer) {
	r.s.bufs.Put(b)
	if r.done.CompareAndSwap(false, true) {
		_ = r.resp.Fail(frame.CodeNotLeader, "the leader dropped the request unanswered")
	}
	<-r.s.slots
}

// Closed reports whether the request has been answered.
func (r *replier) Closed() bool     { return r.done.Load() }
func (r *replier) MaxFrame() int    { return r.maxFrame }
func (r *replier) Producer() uint64 { return r.producer }
