package decode

import (
	"errors"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/stages/work"
)

// Defaults of Options.
const (
	DefaultFetchBatch = 100
	DefaultMaxFetch   = 10000
	DefaultMaxWait    = 5 * time.Minute
)

// Options configures the stage.
type Options struct {
	// MaxFrame is the largest frame accepted (netio checked it already).
	MaxFrame int
	// FetchBatch is the FETCH size used when a client asks for 0.
	FetchBatch int
	// MaxFetch caps the messages one FETCH may ask for.
	MaxFetch int
	// MaxWait caps a FETCH's long-poll wait.
	MaxWait time.Duration
	// Metrics receives swarmmq_decode_* metrics; nil disables them.
	Metrics *metrics.Set
}

// EnsureDefaults fills zero fields with defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxFrame == 0 {
		o.MaxFrame = frame.DefaultMaxFrame
	}
	if o.FetchBatch == 0 {
		o.FetchBatch = DefaultFetchBatch
	}
	if o.MaxFetch == 0 {
		o.MaxFetch = DefaultMaxFetch
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
}

// Validate lists every problem of o.
func (o Options) Validate() error {
	var errs []error
	if o.FetchBatch < 1 || o.FetchBatch > o.MaxFetch {
		errs = append(errs, fmt.Errorf("decode: fetch batch %d out of range 1..%d", o.FetchBatch, o.MaxFetch))
	}
	if o.MaxWait < 0 {
		errs = append(errs, errors.New("decode: max wait must not be negative"))
	}
	return errors.Join(errs...)
}

// Deps are the stage's neighbours.
type Deps struct {
	In    *graph.Ring[netio.Inbound]
	Out   *graph.Ring[*work.Request]
	Route *route.Cache
	Now   func() int64
}

// Stage is the decode stage. Start, Stop: see work.Runner.
type Stage struct {
	*work.Runner[netio.Inbound]
	opts   Options
	deps   Deps
	frames *metrics.Counter
	errs   *metrics.Counter
}

// New builds the stage; it starts nothing.
func New(opts Options, deps Deps) (*Stage, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Stage{opts: opts, deps: deps}
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	s.frames = set.NewCounter("swarmmq_decode_frames_total")
	s.errs = set.NewCounter("swarmmq_decode_errors_total")
	s.Runner = work.NewRunner("decode", deps.In, 0, s.handle)
	return s, nil
}

func (s *Stage) handle(batch []netio.Inbound) {
	now := s.deps.Now()
	for _, in := range batch {
		s.frames.Inc()
		r, err := s.decode(in, now)
		if err != nil {
			s.errs.Inc()
			var fe *frame.Error
			code, msg := frame.CodeMalformed, err.Error()
			if errors.As(err, &fe) {
				code, msg = fe.Code, fe.Msg
			}
			corr := uint64(0)
			if f, _, derr := frame.Decode(in.Buf.B, s.opts.MaxFrame); derr == nil {
				corr = f.Corr
			}
			_ = in.Replier().SendError(corr, code, msg)
			in.Release()
			continue
		}
		// Push blocks while verify is full: backpressure reaches netio
		// through the decode ring filling up.
		work.Forward(s.deps.Out, r)
	}
}

// decode builds the Request for one frame; on error the caller keeps
// ownership of the buffer.
func (s *Stage) decode(in netio.Inbound, now int64) (*work.Request, error) {
	f, _, err := frame.Decode(in.Buf.B, s.opts.MaxFrame)
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case frame.TypePublish:
		return s.publish(in, f, now)
	case frame.TypeFetch:
		return s.fetch(in, f, now)
	case frame.TypeAck:
		return s.ack(in, f, now, work.KindAck)
	case frame.TypeNack:
		return s.ack(in, f, now, work.KindNack)
	case frame.TypeTerm:
		return s.term(in, f, now)
	case frame.TypeProgress:
		return s.ack(in, f, now, work.KindProgress)
	}
	return nil, &frame.Error{Code: frame.CodeUnknownType, Msg: fmt.Sprintf("frame type %s is not accepted from clients", f.Type)}
}

func (s *Stage) newRequest(kind work.Kind, in netio.Inbound, f frame.Frame, dest []byte, now int64) *work.Request {
	r := work.NewRequest(kind, in)
	r.Conn = in.Replier()
	r.Forwarded = in.Conn == nil
	r.Corr = f.Corr
	r.Dest = dest
	r.Partition = s.deps.Route.Partition(dest)
	r.RecvNanos = now
	return r
}

func (s *Stage) publish(in netio.Inbound, f frame.Frame, now int64) (*work.Request, error) {
	p, err := frame.DecodePublish(f.Body, s.opts.MaxFrame/frame.MessageHeaderSize)
	if err != nil {
		return nil, err
	}
	var producer uint64
	if f.Flags&frame.FlagSession != 0 {
		if producer = in.Replier().Producer(); producer == 0 {
			return nil, &frame.Error{Code: frame.CodeBadProducer,
				Msg: "PUBLISH in a producer session, but this connection holds none: send PRODUCER first"}
		}
	}
	r := s.newRequest(work.KindPublish, in, f, p.Destination, now)
	r.Pub = p
	r.Session, r.Producer = producer != 0, producer
	r.StartResults(int(p.Count))
	return r, nil
}

func (s *Stage) fetch(in netio.Inbound, f frame.Frame, now int64) (*work.Request, error) {
	q, err := frame.DecodeFetchFlags(f.Body, f.Flags)
	if err != nil {
		return nil, err
	}
	r := s.newRequest(work.KindFetch, in, f, q.Destination, now)
	r.Group = q.Group
	// The frame's start values are the log's (frame/fetch.go).
	r.Start = queue.Start{Kind: queue.StartKind(q.Start), At: q.StartAt}
	r.Max = int(q.Max)
	if r.Max == 0 {
		r.Max = s.opts.FetchBatch
	}
	r.Max = min(r.Max, s.opts.MaxFetch)
	r.WaitMs = min(q.WaitMS, uint32(s.opts.MaxWait/time.Millisecond))
	return r, nil
}

func (s *Stage) ack(in netio.Inbound, f frame.Frame, now int64, kind work.Kind) (*work.Request, error) {
	var dest, group []byte
	var seqs interface {
		Len() int
		Seq(i int) uint64
	}
	var delay uint32
	if kind == work.KindAck || kind == work.KindProgress {
		a, err := frame.DecodeAck(f.Body) // PROGRESS has ACK's layout
		if err != nil {
			return nil, err
		}
		dest, group, seqs = a.Destination, a.Group, a
	} else {
		n, err := frame.DecodeNack(f.Body)
		if err != nil {
			return nil, err
		}
		dest, group, seqs, delay = n.Destination, n.Group, n, n.DelayMS
	}
	r := s.newRequest(kind, in, f, dest, now)
	r.Group = group
	r.DelayMs = delay
	r.NackRelease = frame.Released(f.Header)
	for i := 0; i < seqs.Len(); i++ {
		r.Seqs = append(r.Seqs, seqs.Seq(i))
	}
	return r, nil
}

// term builds the request of a TERM.
func (s *Stage) term(in netio.Inbound, f frame.Frame, now int64) (*work.Request, error) {
	t, err := frame.DecodeTerm(f.Body)
	if err != nil {
		return nil, err
	}
	r := s.newRequest(work.KindTerm, in, f, t.Destination, now)
	r.Group, r.Reason = t.Group, t.Reason
	for i := 0; i < t.Len(); i++ {
		r.Seqs = append(r.Seqs, t.Seq(i))
	}
	return r, nil
}
