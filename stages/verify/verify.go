package verify

import (
	"errors"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/stages/work"
)

// deliveryOverhead is the framing around one message in a MESSAGES frame:
// header 16, count 4, seq 8, attempt 4.
const deliveryOverhead = frame.DeliveryOverhead

// Options configures the stage.
type Options struct {
	// MaxFrame is the connection's largest frame: a message must also fit
	// in a MESSAGES frame (32 bytes of framing) to be deliverable.
	MaxFrame int
	// Keyring authenticates sealed payloads. nil is the unsealed mode:
	// only key id 0 is accepted and a sealed message is UNKNOWN_KEY (the
	// node cannot check it). With a keyring every message must be sealed
	// with one of its keys.
	Keyring *seal.Keyring
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
	keyring  *seal.Keyring
	scratch  []byte // Verify's plaintext buffer, reused
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
		keyring:  opts.Keyring,
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
		work.Forward(s.deps.Out, r)
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
		var code frame.Code
		switch {
		case !m.Verify():
			code = frame.CodeChecksum
		case m.Flags != 0 && m.CheckFlags(frame.MaxHeaderBytes, frame.MaxHeaderCount) != nil:
			code = frame.CodeBadHeaders // unknown flags, or a header block breaking §6
		case m.Size() > s.maxMsg:
			code = frame.CodeTooLarge
		case r.Session && m.Producer != r.Producer:
			code = frame.CodeBadProducer // not the connection's session
		default:
			code = s.authenticate(r.Dest, &m)
		}
		if code != frame.CodeOK {
			r.Resolve(i, frame.AckEntry{Code: code})
			s.rejected.Inc()
		}
	}
}

// authenticate checks m's seal against the keyring (see Options.Keyring).
func (s *Stage) authenticate(dest []byte, m *frame.Message) frame.Code {
	switch {
	case s.keyring == nil && m.KeyID == 0:
		return frame.CodeOK
	case s.keyring == nil:
		return frame.CodeUnknownKey
	case m.KeyID == 0:
		return frame.CodeAuthFailed // this node accepts sealed messages only
	}
	var err error
	s.scratch, err = s.keyring.Verify(s.scratch, seal.Header{
		ID: m.ID, Destination: dest, Producer: m.Producer, Timestamp: m.Timestamp, KeyID: m.KeyID, Headers: m.Headers,
	}, m.Payload)
	switch {
	case err == nil:
		return frame.CodeOK
	case errors.Is(err, seal.ErrUnknownKey):
		return frame.CodeUnknownKey
	default:
		return frame.CodeAuthFailed
	}
}
