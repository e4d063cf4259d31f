package verify

import (
	"context"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/stages/work"
)

// deliveryOverhead is the framing around one message in a MESSAGES frame:
// header 16, count 4, seq 8, attempt 4.
const deliveryOverhead = frame.HeaderSize + 4 + 12

// Options configures the stage.
type Options struct {
	// MaxFrame is the connection's largest frame: a message must also fit
	// in a MESSAGES frame (32 bytes of framing) to be deliverable.
	MaxFrame int
	// Metrics receives swarmmq_verify_* metrics; nil disables them.
	Metrics *metrics.Set
}

// Deps are the stage's neighbours.
type Deps struct {
	In  *graph.Ring[*work.Request]
	Out *graph.Ring[*work.Request]
}

// Stage is the verify stage. Start, Stop: see work.Runner.
type Stage struct {
	*work.Runner[*work.Request]
	deps     Deps
	maxMsg   int
	checked  *metrics.Counter
	rejected *metrics.Counter
}

// New builds the stage; it starts nothing.
func New(opts Options, deps Deps) (*Stage, error) {
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	if opts.MaxFrame == 0 {
		opts.MaxFrame = frame.DefaultMaxFrame
	}
	s := &Stage{
		maxMsg:   opts.MaxFrame - deliveryOverhead,
		deps:     deps,
		checked:  set.NewCounter("swarmmq_verify_messages_total"),
		rejected: set.NewCounter("swarmmq_verify_rejected_total"),
	}
	s.Runner = work.NewRunner("verify", deps.In, 0, s.handle)
	return s, nil
}

func (s *Stage) handle(batch []*work.Request) {
	for _, r := range batch {
		if r.Kind == work.KindPublish {
			s.check(r)
		}
		_ = s.deps.Out.Push(context.Background(), r)
	}
}

// check resolves every message of r that must not be stored.
func (s *Stage) check(r *work.Request) {
	it := r.Pub
	for i := 0; ; i++ {
		m, _, ok := it.Next()
		if !ok {
			break
		}
		s.checked.Inc()
		switch {
		case !m.Verify():
			r.Resolve(i, frame.AckEntry{Code: frame.CodeChecksum})
		case m.Size() > s.maxMsg:
			r.Resolve(i, frame.AckEntry{Code: frame.CodeTooLarge})
		case m.KeyID != 0:
			r.Resolve(i, frame.AckEntry{Code: frame.CodeUnknownKey})
		default:
			continue
		}
		s.rejected.Inc()
	}
}
