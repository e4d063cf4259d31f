package persist

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// Defaults of Options.
const (
	DefaultMaxBatch = 1024
	DefaultInFlight = 4
)

// Options configures the stage.
type Options struct {
	// MaxBatch bounds the requests of one append.
	MaxBatch int
	// InFlight bounds the appends waiting for their sync.
	InFlight int
	// Metrics receives swarmmq_persist_* metrics; nil disables them.
	Metrics *metrics.Set
}

// EnsureDefaults fills zero fields with defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.InFlight == 0 {
		o.InFlight = DefaultInFlight
	}
}

// Validate lists every problem of o.
func (o Options) Validate() error {
	var errs []error
	if o.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("persist: max batch %d < 1", o.MaxBatch))
	}
	if o.InFlight < 1 {
		errs = append(errs, fmt.Errorf("persist: in-flight %d < 1", o.InFlight))
	}
	return errors.Join(errs...)
}

// Deps are the stage's neighbours.
type Deps struct {
	In     *graph.Ring[*work.Request]
	Fanout []*graph.Ring[*work.Request]
	Log    *wal.Log
	Now    func() int64
}

// Stage is the persist stage. Safe for concurrent Start/Stop.
type Stage struct {
	opts    Options
	deps    Deps
	synced  chan batch
	spare   chan []*work.Request // batch slices back from forward, for reuse
	g       graph.Group
	done    chan struct{}
	started sync.Once
	stopped sync.Once

	// Used only by the persist goroutine.
	entries []wal.Entry
	indexes []uint64
	arena   []byte
	logged  []*work.Request

	batches   *metrics.Counter
	records   *metrics.Counter
	failures  *metrics.Counter
	abandoned *metrics.Counter
	diskFull  *metrics.Counter
	size      *metrics.Histogram
	commit    *metrics.Histogram
}

// batch is one append on its way to the sync goroutine.
type batch struct {
	reqs    []*work.Request
	pending *wal.Pending
	err     error
	start   int64 // when the append began (Deps.Now)
}

// New builds the stage; it starts nothing.
func New(opts Options, deps Deps) (*Stage, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	return &Stage{
		opts:      opts,
		deps:      deps,
		synced:    make(chan batch, opts.InFlight),
		spare:     make(chan []*work.Request, opts.InFlight+1),
		done:      make(chan struct{}),
		batches:   set.NewCounter("swarmmq_persist_batches_total"),
		records:   set.NewCounter("swarmmq_persist_records_total"),
		failures:  set.NewCounter("swarmmq_persist_failures_total"),
		abandoned: set.NewCounter("swarmmq_persist_abandoned_total"),
		diskFull:  set.NewCounter("swarmmq_persist_disk_full_total"),
		size:      set.NewHistogram("swarmmq_persist_batch_requests"),
		commit:    set.NewHistogram("swarmmq_persist_commit_seconds"),
	}, nil
}

// Start starts the persist and sync goroutines.
func (s *Stage) Start() error {
	s.started.Do(func() {
		s.g.Go("persist", func() error {
			defer close(s.synced)
			work.Drain(s.deps.In, s.opts.MaxBatch, s.append)
			return nil
		})
		s.g.Go("persist-sync", func() error {
			defer close(s.done)
			for b := range s.synced {
				s.forward(b)
			}
			return nil
		})
	})
	return nil
}

// Stop closes the input, lets both goroutines drain, and waits for them
// (bounded by ctx). Idempotent.
func (s *Stage) Stop(ctx context.Context) error {
	s.stopped.Do(func() { s.deps.In.Close() })
	s.started.Do(func() { close(s.done) })
	select {
	case <-s.done:
		return s.g.Wait()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// append writes one drained batch and queues it for its sync.
func (s *Stage) append(reqs []*work.Request) {
	t := s.deps.Now()
	s.entries, s.indexes, s.arena = s.entries[:0], s.indexes[:0], s.arena[:0]
	var owned []*work.Request // Drain reuses reqs: the batch needs its own slice
	select {
	case owned = <-s.spare:
	default:
	}
	owned = append(owned[:0], reqs...)
	logged := s.logged[:0]
	full := s.deps.Log.DiskFull() // one atomic load per drain
	for _, r := range owned {
		if full != nil && r.Kind == work.KindPublish && r.Unresolved() > 0 {
			// New messages wait for space; acks and the records fanout
			// feeds back still go in: they let space be reclaimed.
			r.Err = full
			s.diskFull.Inc()
			continue
		}
		if !s.encode(r, t) {
			continue
		}
		logged = append(logged, r)
	}
	b := batch{reqs: owned, start: t}
	if len(s.entries) > 0 {
		s.indexes = append(s.indexes, make([]uint64, len(s.entries))...)
		b.pending, b.err = s.deps.Log.Append(s.entries, s.indexes)
		for i, r := range logged {
			r.Index = s.indexes[i]
		}
		clear(logged)
		s.logged = logged[:0]
		s.batches.Inc()
		s.records.Add(len(s.entries))
	}
	s.size.Update(float64(len(reqs)))
	s.synced <- b
}

// encode appends r's record to the batch being built; false means r writes
// nothing.
func (s *Stage) encode(r *work.Request, t int64) bool {
	rec := &r.Record
	switch r.Kind {
	case work.KindPublish:
		if r.Unresolved() == 0 {
			return false
		}
		if r.Conn != nil && r.Conn.Closed() {
			// Its client is gone and was never answered, so nothing was
			// promised: not writing it keeps a client that reconnects after
			// each FLOW_CONTROL or SLOW_CONSUMER from filling the log (and
			// the queue ahead of everyone else) with requests nobody waits
			// for. Without a Conn, nobody is answered or counted.
			s.abandoned.Inc()
			r.Conn = nil
			return false
		}
		*rec = queue.Record{Type: queue.RecordMessages, Time: t, Dest: r.Dest}
		if r.Session {
			rec.Type = queue.RecordSessionMessages
		}
		rec.Count, rec.Raw = openMessages(r)
	case work.KindAck:
		*rec = queue.Record{Type: queue.RecordAck, Time: t, Dest: r.Dest, Group: r.Group, Seqs: r.Seqs}
	case work.KindGroupCreate:
		*rec = queue.Record{Type: queue.RecordGroupCreate, Time: t, Dest: r.Dest, Group: r.Group}
	case work.KindDeadLetter:
		*rec = queue.Record{Type: queue.RecordDeadLetter, Time: t, Dest: r.Dest, Group: r.Group, Seqs: r.Seqs}
	default:
		return false
	}
	start := len(s.arena)
	s.arena = queue.AppendRecord(s.arena, rec)
	s.entries = append(s.entries, wal.Entry{Partition: r.Partition})
	s.entries[len(s.entries)-1].Data = s.arena[start:]
	return true
}

// openMessages returns the raw section of r's unresolved messages: the
// frame's own bytes when none is resolved, else a copy of the open ones.
func openMessages(r *work.Request) (uint32, []byte) {
	if r.Unresolved() == len(r.Results) {
		return r.Pub.Count, r.Pub.Raw
	}
	raw := make([]byte, 0, len(r.Pub.Raw))
	it := r.Pub
	for i := 0; ; i++ {
		_, m, ok := it.Next()
		if !ok {
			break
		}
		if !r.Resolved(i) {
			raw = append(raw, m...)
		}
	}
	return uint32(r.Unresolved()), raw
}

// forward waits for b's sync and hands its requests to fanout in order.
func (s *Stage) forward(b batch) {
	err := b.err
	if err == nil && b.pending != nil {
		err = b.pending.Wait()
	}
	if err != nil {
		s.failures.Inc()
	}
	s.commit.Update(float64(s.deps.Now()-b.start) / 1e9) // append to durable: the group commit's latency
	for _, r := range b.reqs {
		if r.Index != 0 || b.err != nil {
			r.Err = err
		}
		work.Forward(s.deps.Fanout[int(r.Partition)%len(s.deps.Fanout)], r)
	}
	clear(b.reqs)
	select {
	case s.spare <- b.reqs:
	default:
	}
}
