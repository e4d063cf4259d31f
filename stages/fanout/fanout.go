package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// Defaults of Options.
const (
	DefaultWorkers          = 2
	DefaultSnapshotEvery    = 4096
	DefaultSnapshotMaxBytes = 1 << 20
	DefaultStatsInterval    = time.Second
	// DefaultMemberIdle is twice the longest long poll (decode's
	// DefaultMaxWait, 5 minutes).
	DefaultMemberIdle = 10 * time.Minute
)

// Options configures the stage.
type Options struct {
	// Workers is the number of worker goroutines.
	Workers int
	// MaxFrame bounds a MESSAGES reply.
	MaxFrame int
	// SnapshotEvery is the number of records applied to a partition between
	// snapshot attempts (a snapshot lets the log prefix be trimmed).
	SnapshotEvery uint64
	// SnapshotMaxBytes skips a snapshot while the retained messages would
	// take more than this in it (queue.SnapshotMsgBytes each; the log
	// keeps serving them and replay rebuilds them). A snapshot is encoded
	// on the worker goroutine (this bounds that pause) and written, one
	// synced batch, by the worker's snapshot writer goroutine.
	SnapshotMaxBytes int64
	// StatsInterval is how often per-destination gauges are refreshed.
	StatsInterval time.Duration
	// MemberIdle is how long a group member (a connection fetching for a
	// group, Live.Members) is remembered after its last FETCH while none
	// of its FETCHes waits; one whose connection closes goes at once.
	MemberIdle time.Duration
	// Metrics receives swarmmq_fanout_*, swarmmq_destination_* metrics.
	Metrics *metrics.Set
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
}

// EnsureDefaults fills zero fields with defaults.
func (o *Options) EnsureDefaults() {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = frame.DefaultMaxFrame
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = DefaultSnapshotEvery
	}
	if o.SnapshotMaxBytes == 0 {
		o.SnapshotMaxBytes = DefaultSnapshotMaxBytes
	}
	if o.StatsInterval == 0 {
		o.StatsInterval = DefaultStatsInterval
	}
	if o.MemberIdle == 0 {
		o.MemberIdle = DefaultMemberIdle
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate lists every problem of o.
func (o Options) Validate() error {
	var errs []error
	if o.Workers < 1 || o.Workers > 256 {
		errs = append(errs, fmt.Errorf("fanout: workers %d out of range 1..256", o.Workers))
	}
	if o.MaxFrame < 4096 {
		errs = append(errs, fmt.Errorf("fanout: max frame %d < 4096", o.MaxFrame))
	}
	if o.MemberIdle < 0 {
		errs = append(errs, fmt.Errorf("fanout: member idle time %s < 0", o.MemberIdle))
	}
	return errors.Join(errs...)
}

// Deps are the stage's neighbours. Partitions[p] is partition p's state,
// already restored from the log.
type Deps struct {
	In         []*graph.Ring[*work.Request] // FETCH and NACK; one per worker
	Log        []*graph.Ring[plog.Output]   // the partition log's outcomes; one per worker
	Ack        *graph.Ring[*work.Request]
	Feedback   *graph.Ring[plog.Proposal] // the partition log's proposals; TryPush only
	Owners     *owner.Map                 // which worker applies a partition, and whether it is led here
	Partitions []*queue.Partition
	WAL        *wal.Log // reads messages not in memory; stores snapshots unless Snapshots is set
	// Snapshots stores the partitions' snapshots; nil = WAL (the local
	// log). A replicated log passes its engine's compaction.
	Snapshots Snapshotter
	// NewPartition makes an empty partition p for a Restore output (a
	// replicated log's snapshot); nil = queue.New with default options.
	NewPartition func(p uint32) (*queue.Partition, error)
	Now          func() int64
}

// Stage is the fanout stage. Safe for concurrent Start/Stop.
type Stage struct {
	opts    Options
	deps    Deps
	workers []*worker
	// parts are the partitions for readers on other goroutines (Lookup):
	// a Restore swaps one (the workers use deps.Partitions, theirs only).
	parts   []atomic.Pointer[queue.Partition]
	g       graph.Group
	done    chan struct{}
	started sync.Once
	stopped sync.Once
	m       stageMetrics
}

type stageMetrics struct {
	applied    *metrics.Counter
	delivered  *metrics.Counter
	redeliver  *metrics.Counter
	deadLetter *metrics.Counter
	terminated *metrics.Counter // seqs a TERM ended for their group
	progress   *metrics.Counter // deadlines a PROGRESS pushed out
	snapshots  *metrics.Counter
	logReads   *metrics.Counter // log entries read for messages not in memory
	fromLog    *metrics.Counter // messages delivered from the log
	readErrors *metrics.Counter
	tooLarge   *metrics.Counter // deliveries larger than their connection's max frame
	e2e        *metrics.PrometheusHistogram
	fetchLat   *metrics.PrometheusHistogram // decode to MESSAGES written, fetches answered with messages
	waiting    *metrics.Counter
	parked     atomic.Int64 // fetches parked right now, all workers
	held       atomic.Int64 // fetches held back for backlogged connections right now, all workers
}

// New builds the stage; it starts nothing.
func New(opts Options, deps Deps) (*Stage, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(deps.In) != opts.Workers || len(deps.Log) != opts.Workers || deps.Owners.Load().Workers() != opts.Workers {
		return nil, fmt.Errorf("fanout: %d request rings, %d log rings and an owner table of %d workers for %d workers",
			len(deps.In), len(deps.Log), deps.Owners.Load().Workers(), opts.Workers)
	}
	if deps.Snapshots == nil {
		deps.Snapshots = deps.WAL
	}
	if deps.NewPartition == nil {
		deps.NewPartition = newPartitionDefault
	}
	set := opts.Metrics
	s := &Stage{opts: opts, deps: deps, done: make(chan struct{}),
		parts: make([]atomic.Pointer[queue.Partition], len(deps.Partitions))}
	for i, p := range deps.Partitions {
		s.parts[i].Store(p)
	}
	s.m = stageMetrics{
		applied:    set.NewCounter("swarmmq_fanout_records_applied_total"),
		delivered:  set.NewCounter("swarmmq_deliveries_total"),
		redeliver:  set.NewCounter("swarmmq_redeliveries_total"),
		deadLetter: set.NewCounter("swarmmq_dead_lettered_total"),
		terminated: set.NewCounter("swarmmq_fanout_terminated_total"),
		progress:   set.NewCounter("swarmmq_fanout_progress_total"),
		snapshots:  set.NewCounter("swarmmq_fanout_snapshots_total"),
		logReads:   set.NewCounter("swarmmq_fanout_log_reads_total"),
		fromLog:    set.NewCounter("swarmmq_fanout_messages_from_log_total"),
		readErrors: set.NewCounter("swarmmq_fanout_log_read_errors_total"),
		tooLarge:   set.NewCounter("swarmmq_fanout_too_large_total"),
		e2e:        set.NewPrometheusHistogramExt("swarmmq_end_to_end_latency_seconds", metrics.ExponentialBuckets(100e-6, 2, 26)), // 100µs..56min
		fetchLat:   set.NewPrometheusHistogramExt("swarmmq_fetch_latency_seconds", metrics.ExponentialBuckets(1e-6, 2, 24)),        // 1µs..8.4s
		waiting:    set.NewCounter("swarmmq_fanout_long_polls_total"),
	}
	set.NewGauge("swarmmq_fanout_parked_fetches", func() float64 { return float64(s.m.parked.Load()) })
	set.NewGauge("swarmmq_fanout_backlogged_fetches", func() float64 { return float64(s.m.held.Load()) })
	for i := 0; i < opts.Workers; i++ {
		s.workers = append(s.workers, newWorker(s, i))
	}
	return s, nil
}

// Start starts the workers.
func (s *Stage) Start() error {
	s.started.Do(func() {
		var wg sync.WaitGroup
		for _, w := range s.workers {
			wg.Add(2)
			s.g.Go(fmt.Sprintf("fanout-%d", w.id), func() error {
				defer wg.Done()
				w.run()
				return nil
			})
			s.g.Go(fmt.Sprintf("fanout-%d-snapshots", w.id), func() error {
				defer wg.Done()
				w.writeSnapshots()
				return nil
			})
		}
		s.g.Go("fanout-done", func() error {
			wg.Wait()
			close(s.done)
			return nil
		})
	})
	return nil
}

// Stop closes the worker rings, lets each worker drain and answer its
// parked fetches, and waits (bounded by ctx). Idempotent.
func (s *Stage) Stop(ctx context.Context) error {
	s.stopped.Do(func() {
		for _, in := range s.deps.In {
			in.Close()
		}
		for _, in := range s.deps.Log {
			in.Close()
		}
	})
	s.started.Do(func() { close(s.done) })
	select {
	case <-s.done:
		return s.g.Wait()
	case <-ctx.Done():
		return ctx.Err()
	}
}
