package ack

import (
	"errors"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/stages/work"
)

// Options configures the stage.
type Options struct {
	// Metrics receives swarmmq_publish_*, swarmmq_acks_* and
	// swarmmq_errors_total{code=...} metrics; nil disables them.
	Metrics *metrics.Set
}

// Deps are the stage's neighbours.
type Deps struct {
	In  *graph.Ring[*work.Request]
	Now func() int64
}

// Stage is the ack stage. Start, Stop: see work.Runner.
type Stage struct {
	*work.Runner[*work.Request]
	deps Deps
	set  *metrics.Set
	out  []byte

	published *metrics.Counter
	dups      *metrics.Counter
	acked     *metrics.Counter
	nacked    *metrics.Counter
	latency   *metrics.PrometheusHistogram
	ackLat    *metrics.PrometheusHistogram
}

// New builds the stage; it starts nothing.
func New(opts Options, deps Deps) (*Stage, error) {
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	s := &Stage{
		deps:      deps,
		set:       set,
		published: set.NewCounter("swarmmq_published_messages_total"),
		dups:      set.NewCounter("swarmmq_publish_duplicates_total"),
		acked:     set.NewCounter("swarmmq_acked_messages_total"),
		nacked:    set.NewCounter("swarmmq_nacked_messages_total"),
		latency:   set.NewPrometheusHistogramExt("swarmmq_publish_latency_seconds", metrics.ExponentialBuckets(10e-6, 2, 21)), // 10µs..10.5s
		ackLat:    set.NewPrometheusHistogramExt("swarmmq_ack_latency_seconds", metrics.ExponentialBuckets(10e-6, 2, 21)),     // 10µs..10.5s
	}
	s.Runner = work.NewRunner("ack", deps.In, 0, s.handle)
	return s, nil
}

func (s *Stage) handle(batch []*work.Request) {
	now := s.deps.Now()
	for _, r := range batch {
		s.answer(r, now)
		r.Release()
	}
}

func (s *Stage) answer(r *work.Request, now int64) {
	if r.Err != nil {
		var fe *frame.Error
		code := frame.CodeInternal
		if errors.As(r.Err, &fe) {
			code = fe.Code
		}
		s.countError(code)
		if r.Conn != nil {
			_ = r.Conn.SendError(r.Corr, code, r.Err.Error())
		}
		return
	}
	if r.Conn == nil {
		return
	}
	switch r.Kind {
	case work.KindPublish:
		s.out = frame.AppendPublishAck(s.out[:0], r.Corr, r.Results)
		for _, e := range r.Results {
			switch {
			case e.Code != frame.CodeOK:
				s.countError(e.Code)
			case e.Flags&frame.FlagDuplicate != 0:
				s.dups.Inc()
			default:
				s.published.Inc()
			}
		}
		s.latency.Update(time.Duration(now - r.RecvNanos).Seconds())
	case work.KindAck:
		s.out = frame.AppendAckOK(s.out[:0], r.Corr, uint32(len(r.Seqs)))
		s.acked.Add(len(r.Seqs))
		s.ackLat.Update(time.Duration(now - r.RecvNanos).Seconds())
	case work.KindNack:
		s.out = frame.AppendNackOK(s.out[:0], r.Corr, uint32(r.Returned))
		s.nacked.Add(r.Returned)
	case work.KindTerm:
		s.out = frame.AppendAckOK(s.out[:0], r.Corr, uint32(len(r.Seqs)))
	case work.KindProgress:
		s.out = frame.AppendNackOK(s.out[:0], r.Corr, uint32(r.Returned))
	default:
		return
	}
	_ = r.Conn.Send(s.out)
}

func (s *Stage) countError(code frame.Code) {
	s.set.GetOrCreateCounter(`swarmmq_errors_total{code="` + code.String() + `"}`).Inc()
}
