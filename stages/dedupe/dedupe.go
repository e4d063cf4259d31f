package dedupe

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/stages/work"
)

// Options configures the stage.
type Options struct {
	// Metrics receives swarmmq_dedupe_* metrics; nil disables them.
	Metrics *metrics.Set
}

// Deps are the stage's neighbours. Lookup must be safe to call
// concurrently with the fanout workers that fill the windows; it answers
// queue.Partition.Lookup of the partition.
type Deps struct {
	In     *graph.Ring[*work.Request]
	Out    *graph.Ring[*work.Request]
	Lookup func(partition uint32, dest []byte, session bool, producer uint64, id [16]byte) (seq uint64, ok bool)
}

// Stage is the dedupe stage. Start, Stop: see work.Runner.
type Stage struct {
	*work.Runner[*work.Request]
	deps Deps
	hits *metrics.Counter
}

// New builds the stage; it starts nothing.
func New(opts Options, deps Deps) (*Stage, error) {
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	s := &Stage{deps: deps, hits: set.NewCounter("swarmmq_dedupe_hits_total")}
	s.Runner = work.NewRunner("dedupe", deps.In, 0, s.handle)
	return s, nil
}

func (s *Stage) handle(batch []*work.Request) {
	for _, r := range batch {
		if r.Kind == work.KindPublish && r.Unresolved() > 0 {
			s.check(r)
		}
		work.Forward(s.deps.Out, r)
	}
}

func (s *Stage) check(r *work.Request) {
	it := r.Pub
	for i := 0; ; i++ {
		m, _, ok := it.Next()
		if !ok {
			return
		}
		if r.Resolved(i) {
			continue
		}
		if seq, ok := s.deps.Lookup(r.Partition, r.Dest, r.Session, r.Producer, m.ID); ok {
			r.Resolve(i, frame.AckEntry{Flags: frame.FlagDuplicate, Seq: seq})
			s.hits.Inc()
		}
	}
}
