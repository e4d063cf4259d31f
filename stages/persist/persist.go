package persist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
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

// Deps are the stage's neighbours: the partition log's (plog.Deps), and
// the log on disk.
type Deps struct {
	plog.Deps
	Log *wal.Log
}

// Stage is the persist stage, the local partition log. Safe for
// concurrent Start/Stop.
type Stage struct {
	opts    Options
	deps    Deps
	synced  chan batch
	spare   chan []slot // batch slices back from forward, for reuse
	g       graph.Group
	done    chan struct{}
	started sync.Once
	stopped sync.Once

	// Used only by the persist goroutine.
	entries []wal.Entry
	indexes []uint64
	arena   []byte

	batches   *metrics.Counter
	records   *metrics.Counter
	failures  *metrics.Counter
	abandoned *metrics.Counter
	diskFull  *metrics.Counter
	size      *metrics.PrometheusHistogram
	commit    *metrics.PrometheusHistogram
}

// slot is one proposal of a batch and what became of it so far. A
// Committed slot is committed once its batch's sync returned.
type slot struct {
	prop  plog.Proposal
	kind  plog.Kind
	index uint64
	err   error
}

// batch is one append on its way to the sync goroutine.
type batch struct {
	slots   []slot
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
		spare:     make(chan []slot, opts.InFlight+1),
		done:      make(chan struct{}),
		batches:   set.NewCounter("swarmmq_persist_batches_total"),
		records:   set.NewCounter("swarmmq_persist_records_total"),
		failures:  set.NewCounter("swarmmq_persist_failures_total"),
		abandoned: set.NewCounter("swarmmq_persist_abandoned_total"),
		diskFull:  set.NewCounter("swarmmq_persist_disk_full_total"),
		size:      set.NewPrometheusHistogramExt("swarmmq_persist_batch_requests", metrics.ExponentialBuckets(1, 2, 13)),     // 1..4096
		commit:    set.NewPrometheusHistogramExt("swarmmq_persist_commit_seconds", metrics.ExponentialBuckets(10e-6, 2, 21)), // 10µs..10.5s
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
func (s *Stage) append(props []plog.Proposal) {
	start := s.deps.Now()
	s.entries, s.indexes, s.arena = s.entries[:0], s.indexes[:0], s.arena[:0]
	var slots []slot // Drain reuses props: the batch needs its own slice
	select {
	case slots = <-s.spare:
	default:
	}
	slots = slots[:0]
	t := s.deps.Owners.Load()
	full := s.deps.Log.DiskFull() // one atomic load per drain
	for _, p := range props {
		slots = append(slots, s.decide(p, t, full))
	}
	b := batch{slots: slots, start: start}
	if len(s.entries) > 0 {
		s.indexes = slices.Grow(s.indexes, len(s.entries))[:len(s.entries)]
		b.pending, b.err = s.deps.Log.Append(s.entries, s.indexes)
		k := 0
		for i := range slots {
			if slots[i].kind == plog.Committed {
				slots[i].index = s.indexes[k]
				k++
			}
		}
		s.batches.Inc()
		s.records.Add(len(s.entries))
	}
	s.size.Update(float64(len(props)))
	s.synced <- b
}

// decide returns what becomes of p in this batch; a Committed slot's
// record is appended to the batch being built (committed once it syncs).
func (s *Stage) decide(p plog.Proposal, t *owner.Table, full error) slot {
	r := p.Req
	switch {
	case !t.Leads(p.Partition):
		return slot{prop: p, kind: plog.Failed, err: plog.ErrNotLeader}
	case !p.Appends():
		return slot{prop: p, kind: plog.Unwritten}
	case r.Kind == work.KindPublish && r.Conn != nil && r.Conn.Closed():
		// Its client is gone and was never answered, so nothing was
		// promised: not writing it keeps a client that reconnects after
		// each FLOW_CONTROL or SLOW_CONSUMER from filling the log (and the
		// queue ahead of everyone else) with requests nobody waits for.
		// Without a Conn, nobody is answered or counted.
		s.abandoned.Inc()
		r.Conn = nil
		return slot{prop: p, kind: plog.Unwritten}
	case full != nil && isMessages(p.Record):
		// New messages wait for space; acks and the records fanout feeds
		// back still go in: they let space be reclaimed.
		s.diskFull.Inc()
		return slot{prop: p, kind: plog.Failed, err: full}
	}
	at := len(s.arena)
	s.arena = queue.AppendRecord(s.arena, p.Record)
	s.entries = append(s.entries, wal.Entry{Partition: p.Partition, Data: s.arena[at:]})
	return slot{prop: p, kind: plog.Committed}
}

// isMessages reports whether rec stores new messages.
func isMessages(rec *queue.Record) bool {
	return rec.Type == queue.RecordMessages || rec.Type == queue.RecordSessionMessages
}

// forward waits for b's sync and hands every outcome to the fanout worker
// of its partition, in order. A failed append or sync fails every proposal
// the batch was to write.
func (s *Stage) forward(b batch) {
	err := b.err
	if err == nil && b.pending != nil {
		err = b.pending.Wait()
	}
	if err != nil {
		s.failures.Inc()
	}
	s.commit.Update(float64(s.deps.Now()-b.start) / 1e9) // append to durable: the group commit's latency
	t := s.deps.Owners.Load()
	for i := range b.slots {
		sl := &b.slots[i]
		if sl.kind == plog.Committed && err != nil {
			sl.kind, sl.err = plog.Failed, err
		}
		o := plog.Output{Kind: sl.kind, Err: sl.err,
			Entry: plog.Entry{Partition: sl.prop.Partition, Req: sl.prop.Req}}
		if sl.kind == plog.Committed {
			o.Entry.Index, o.Entry.Record = sl.index, sl.prop.Record
		}
		plog.Deliver(s.deps.Deps, t, o)
	}
	clear(b.slots)
	select {
	case s.spare <- b.slots:
	default:
	}
}
