package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages/work"
)

// Defaults of Options.
const (
	// DefaultMaxInFlight bounds the requests a node forwards at once;
	// beyond it they are answered NOT_LEADER (the client then goes to the
	// leader itself).
	DefaultMaxInFlight = 4096
	// DefaultTimeout bounds a forwarded request, on top of a FETCH's
	// long-poll wait.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxPayload is the largest envelope forwarded: the peer
	// links' default max frame less a frame header.
	DefaultMaxPayload = 4<<20 - frame.HeaderSize
)

// Caller sends a request to a peer and waits for the answer: the
// RESPONSE's payload, or an error (a *frame.Error for an ERROR answer).
// peer.Transport.Call is one.
type Caller func(ctx context.Context, to string, payload []byte) ([]byte, error)

// Options configure a Forwarder.
type Options struct {
	// Self is this node's id: a partition it leads is never forwarded.
	Self string
	// Leader returns the id of partition p's leader as this node knows it.
	Leader func(p uint32) (id string, ok bool)
	// Call reaches the leader.
	Call Caller
	// MaxInFlight bounds the requests forwarded at once.
	MaxInFlight int
	// Timeout bounds one forwarded request, on top of its long poll.
	Timeout time.Duration
	// MaxPayload is the largest envelope the peer links carry.
	MaxPayload int
	// Metrics receives swarmmq_forward_*; nil keeps them private.
	Metrics *metrics.Set
	// Logger; nil discards.
	Logger *slog.Logger
}

// EnsureDefaults fills zero fields.
func (o *Options) EnsureDefaults() {
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate lists every problem of o.
func (o *Options) Validate() error {
	var errs []error
	if o.Self == "" {
		errs = append(errs, errors.New("forward: no Self"))
	}
	if o.Leader == nil {
		errs = append(errs, errors.New("forward: no Leader"))
	}
	if o.Call == nil {
		errs = append(errs, errors.New("forward: no Call"))
	}
	if o.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("forward: MaxInFlight %d < 1", o.MaxInFlight))
	}
	if o.MaxPayload < EnvelopeHeaderSize+frame.HeaderSize {
		errs = append(errs, fmt.Errorf("forward: MaxPayload %d too small", o.MaxPayload))
	}
	return errors.Join(errs...)
}

// Forwarder hands requests for partitions led elsewhere to their leader
// (the router's side). Safe for concurrent use.
type Forwarder struct {
	opts  Options
	slots chan struct{} // one per request in flight
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc

	forwarded, failed, declined *metrics.Counter
}

// New returns a Forwarder; it starts nothing until a request comes.
func New(opts Options) (*Forwarder, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	f := &Forwarder{opts: opts, slots: make(chan struct{}, opts.MaxInFlight)}
	f.ctx, f.stop = context.WithCancel(context.Background())
	set := opts.Metrics
	f.forwarded = set.NewCounter(`swarmmq_forward_requests_total{result="ok"}`)
	f.failed = set.NewCounter(`swarmmq_forward_requests_total{result="failed"}`)
	f.declined = set.NewCounter(`swarmmq_forward_requests_total{result="declined"}`)
	set.NewGauge("swarmmq_forward_in_flight", func() float64 { return float64(len(f.slots)) })
	return f, nil
}

// Forward takes r if its partition has a known leader other than this
// node and a slot is free, and answers r on r.Conn once the leader has; it
// returns false, leaving r to the caller, otherwise.
func (f *Forwarder) Forward(r *work.Request) bool {
	leader, ok := f.opts.Leader(r.Partition)
	raw := r.Frame()
	if !ok || leader == f.opts.Self || raw == nil || r.Conn == nil ||
		EnvelopeHeaderSize+len(raw) > f.opts.MaxPayload || f.ctx.Err() != nil {
		f.declined.Inc()
		return false
	}
	select {
	case f.slots <- struct{}{}:
	default:
		f.declined.Inc()
		return false
	}
	var producer uint64
	if r.Session {
		producer = r.Producer
	}
	payload := AppendEnvelope(make([]byte, 0, EnvelopeHeaderSize+len(raw)),
		Envelope{Producer: producer, MaxFrame: uint32(r.Conn.MaxFrame()), Frame: raw})
	timeout := f.opts.Timeout + time.Duration(r.WaitMs)*time.Millisecond
	f.wg.Add(1)
	go func() {
		defer func() { <-f.slots; f.wg.Done() }()
		f.call(r, leader, payload, timeout)
	}()
	return true
}

// call forwards r and answers it.
func (f *Forwarder) call(r *work.Request, leader string, payload []byte, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(f.ctx, timeout)
	reply, err := f.opts.Call(ctx, leader, payload)
	cancel()
	if err == nil {
		err = checkReply(reply)
	}
	if err != nil {
		f.failed.Inc()
		// NOT_LEADER sends the client looking for the leader; it retries
		// with the same ids, so nothing is stored twice if the leader did
		// store it.
		r.Abort(frame.CodeNotLeader, fmt.Errorf("forwarding to %s, the leader of partition %d, failed: %w",
			leader, r.Partition, err))
		return
	}
	f.forwarded.Inc()
	if !r.Conn.Closed() {
		_ = r.Conn.Send(reply)
	}
	r.Release()
}

// checkReply accepts a reply of whole client frames but one fatal ERROR:
// the leader's connection-level verdict (its shutdown, say) must not close
// the client's connection to this node, so it becomes NOT_LEADER.
func checkReply(b []byte) error {
	if len(b) == 0 {
		return errors.New("empty reply")
	}
	for rest := b; len(rest) > 0; {
		fr, n, err := frame.Decode(rest, len(rest))
		if err != nil {
			return fmt.Errorf("bad reply: %w", err)
		}
		if n == 0 {
			return errors.New("bad reply: a frame cut short")
		}
		if fr.Type == frame.TypeError {
			if code, msg, err := frame.DecodeError(fr.Body); err == nil && code.Fatal() {
				return &frame.Error{Code: code, Msg: string(msg)}
			}
		}
		rest = rest[n:]
	}
	return nil
}

// Stop cancels the requests in flight (they are answered NOT_LEADER) and
// waits for them, bounded by ctx. Call it once the router, which calls
// Forward, has stopped.
func (f *Forwarder) Stop(ctx context.Context) error {
	f.stop()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
