package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrPartitions marks the error of Open when Options.Partitions differs from
// the count the log was created with.
var ErrPartitions = errors.New("swarmmq/wal: partition count mismatch")

// Log is the durable log of every partition of a node, kept in one Pebble
// database. It is safe for concurrent use.
//
// Every write to Pebble (Append, SaveSnapshot, the interval sync) is applied
// under mu, so a partition's indexes are assigned in the order its batches
// enter Pebble's commit pipeline, and so reach the WAL; the fsync is awaited
// outside mu, so batches keep arriving while one syncs (group commit). life
// keeps db open while a method uses it: held shared by each method, taken
// exclusively by Close and by reopen (which swaps a read-only Pebble for a
// read-write one). Lock order: life, then mu, then rep.
type Log struct {
	db     *pebble.DB // replaced (under life.Lock) only by reopen
	parts  uint32
	policy SyncPolicy
	m      walMetrics
	hooks  hooks
	opts   Options
	fs     vfs.FS // what Pebble sees: opts.FS with the ENOSPC callback and sync timing
	lg     *slog.Logger
	lim    *limiter // storage error lines
	remind *limiter // "writes refused" reminders
	sp     *space
	// ro is set while Pebble is open read-only (see openMode); written
	// under life.Lock. roNeed is the free space a read-write open needs.
	ro     atomic.Bool
	roNeed uint64
	failed atomic.Bool // mu.err is set; readable without mu
	rep    struct {
		sync.Mutex
		state string // the health last reported
	}

	// applied is returned by Append under SyncInterval; empty by Append of
	// no entries. Both are immutable.
	applied, empty Pending

	life   sync.RWMutex
	closed bool // written under life.Lock

	mu struct {
		sync.Mutex
		last []uint64 // last index of each partition (the snapshot's if none)
		snap []uint64 // index of each partition's snapshot, 0 if none
		err  error    // sticky failure, wraps ErrFailed
		// wedged is set when Pebble panicked during a write: it may still
		// hold its internal locks, so Close must not call DB.Close.
		wedged bool
	}

	dirty     atomic.Bool // appended since the last interval sync
	quit      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// hooks let tests drive the interval syncer and the free-space check.
type hooks struct {
	tick   <-chan time.Time // replaces the syncer's ticker if non-nil
	synced func(error)      // called after each tick the syncer handled
	manual bool             // no free-space goroutine: the test calls checkSpace
	now    func() time.Time // the clock of the free-space logic; nil = time.Now
}

// walMetrics are the metrics of a Log, created once in Open.
type walMetrics struct {
	batches, entries, bytes, errors *metrics.Counter
	// intervalSyncs counts the interval syncer's completed syncs (see the
	// package documentation, "Metrics", for what a reading guarantees).
	intervalSyncs *metrics.Counter
	syncSeconds   *metrics.PrometheusHistogram
}

func newMetrics(s *metrics.Set) walMetrics {
	return walMetrics{
		batches:       s.GetOrCreateCounter("swarmmq_wal_append_batches_total"),
		entries:       s.GetOrCreateCounter("swarmmq_wal_append_entries_total"),
		bytes:         s.GetOrCreateCounter("swarmmq_wal_append_bytes_total"),
		errors:        s.GetOrCreateCounter("swarmmq_wal_errors_total"),
		intervalSyncs: s.GetOrCreateCounter("swarmmq_wal_interval_syncs_total"),
		syncSeconds:   s.GetOrCreatePrometheusHistogramExt("swarmmq_wal_sync_seconds", metrics.ExponentialBuckets(10e-6, 2, 21)), // 10µs..10.5s
	}
}

// Open opens or creates the log in opts.Dir, restores the last index of each
// partition, and under SyncInterval starts the interval syncer. Close
// releases everything Open acquired.
func Open(opts Options) (*Log, error) {
	return open(opts, hooks{})
}

func open(opts Options, h hooks) (*Log, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if h.now == nil {
		h.now = time.Now
	}
	l := &Log{parts: opts.Partitions, policy: opts.Sync, m: newMetrics(opts.Metrics), hooks: h, quit: make(chan struct{}),
		opts: opts, lg: opts.Logger, sp: newSpace(&opts, opts.FS, h.now, opts.Metrics),
		lim: newLimiter(logEvery, h.now), remind: newLimiter(remindEvery, h.now)}
	l.rep.state = HealthOK
	l.fs = &syncTimingFS{FS: vfs.OnDiskFull(opts.FS, l.onNoSpace), hist: l.m.syncSeconds, sp: l.sp, quit: l.quit}
	db, ro, need, err := l.openPebble()
	if err != nil {
		return nil, fmt.Errorf("swarmmq/wal: cannot open pebble in %q: %w", opts.Dir, err)
	}
	l.db = db
	l.applied.l = l
	l.mu.last = make([]uint64, l.parts)
	l.mu.snap = make([]uint64, l.parts)
	if err := l.init(opts.Dir); err != nil {
		return nil, errors.Join(err, l.close())
	}
	l.startSpaceWatch(ro, need)
	if l.policy == SyncInterval {
		l.startSyncer(opts.SyncInterval)
	}
	return l, nil
}

// startSpaceWatch reports a read-only open, makes the ballast, checks the
// free space once and starts the periodic check. With no reserve
// (Options.MinFree negative) it does nothing.
func (l *Log) startSpaceWatch(ro bool, need uint64) {
	s := l.sp
	if s.min == 0 {
		return
	}
	free, known, _ := s.measure()
	if ro {
		l.ro.Store(true)
		l.roNeed = need
		s.setFull(fmt.Errorf("%w: opened read-only: %s free on the file system of %s, flushing the log's WAL needs %s; "+
			"acks and new messages are refused until then", ErrDiskFull, bytesText(free), s.dir, bytesText(need)), true)
		l.report(s.err().Error())
	} else if known && s.ballast > 0 && free >= s.min+uint64(s.ballast) {
		if err := s.makeBallast(); err != nil {
			l.lg.Warn("no ballast file", slog.String("err", err.Error()))
		}
	}
	if !known {
		l.lg.Info("the free space of the data directory cannot be read: no reserve, only ENOSPC marks the disk full",
			slog.String("dir", s.dir))
	}
	l.checkSpace()
	l.startSpace()
}

// pebbleOpts returns the Pebble options of the log, read-only or not.
func (l *Log) pebbleOpts(readOnly bool) *pebble.Options {
	po := pebbleOptions(&l.opts, l.fs, l.lim)
	po.ReadOnly = readOnly
	return po
}

// init checks the partition count marker (writing it into a new log) and
// restores the indexes. It runs before the Log is shared.
func (l *Log) init(dir string) error {
	v, closer, err := l.db.Get([]byte(metaPartitionsKey))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		err = l.create()
	case err != nil:
		err = fmt.Errorf("swarmmq/wal: cannot read the partition count in %q: %w", dir, err)
	default:
		err = l.checkPartitions(dir, v)
		_ = closer.Close()
	}
	if err != nil {
		return err
	}
	return l.loadIndexes()
}

func (l *Log) checkPartitions(dir string, v []byte) error {
	if len(v) != partitionsValue {
		return corruptf("partition count marker is %d bytes, want %d", len(v), partitionsValue)
	}
	if n := binary.BigEndian.Uint32(v); n != l.parts {
		return fmt.Errorf("%w: the log in %q was created with %d partitions and this node is configured for %d (cluster.partitions); a partition count cannot change: use the original count or a new data directory", ErrPartitions, dir, n, l.parts)
	}
	return nil
}

// create writes the partition count marker of a new log, after checking that
// the database holds no log data without one.
func (l *Log) create() error {
	it, err := l.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("swarmmq/wal: cannot scan the database: %w", err)
	}
	found := it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("swarmmq/wal: cannot scan the database: %w", err)
	}
	if found {
		return corruptf("the database holds data but no partition count marker")
	}
	v := binary.BigEndian.AppendUint32(nil, l.parts)
	b := l.db.NewBatch()
	_ = b.Set([]byte(metaPartitionsKey), v, nil)
	if err := l.commitSync(b); err != nil {
		return fmt.Errorf("swarmmq/wal: cannot write the partition count: %w", err)
	}
	return nil
}

// loadIndexes restores each partition's last index and snapshot index.
func (l *Log) loadIndexes() error {
	it, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: partKey(prefixLog, 0),
		UpperBound: partKey(prefixLog, l.parts),
	})
	if err != nil {
		return fmt.Errorf("swarmmq/wal: cannot scan the log: %w", err)
	}
	defer func() { _ = it.Close() }()
	for p := range l.parts {
		if it.SeekLT(partKey(prefixLog, p+1)) && bytes.HasPrefix(it.Key(), partKey(prefixLog, p)) {
			idx, err := parseLogKey(it.Key(), p)
			if err != nil {
				return err
			}
			l.mu.last[p] = idx
		}
		if err := it.Error(); err != nil {
			return fmt.Errorf("swarmmq/wal: cannot seek partition %d: %w", p, err)
		}
		idx, _, ok, err := l.loadSnapshot(p, false)
		if err != nil {
			return err
		}
		if ok {
			l.mu.snap[p] = idx
			l.mu.last[p] = max(l.mu.last[p], idx)
		}
	}
	return nil
}

// LastIndex returns the last index appended to the partition: 0 if the
// partition is empty, the snapshot's index if every entry was trimmed, 0 for
// a partition out of range.
func (l *Log) LastIndex(partition uint32) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if partition >= l.parts {
		return 0
	}
	return l.mu.last[partition]
}

// Close stops the interval syncer and waits for it, waits for running
// calls, then closes Pebble, which syncs the WAL. It is idempotent: later
// calls return nil. If Pebble
// panicked during a write, Close leaves it open (its internal locks may be
// held, so closing could hang) and returns an error: the process should exit.
func (l *Log) Close() error {
	err := error(nil)
	l.closeOnce.Do(func() { err = l.close() })
	return err
}

func (l *Log) close() error {
	close(l.quit)
	l.wg.Wait()
	l.life.Lock()
	defer l.life.Unlock()
	l.closed = true
	l.mu.Lock()
	wedged, failure := l.mu.wedged, l.mu.err
	l.mu.Unlock()
	if wedged {
		return fmt.Errorf("swarmmq/wal: pebble left open after it panicked on a write: %w", failure)
	}
	if l.db == nil { // a failed reopen closed it
		return failure
	}
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("swarmmq/wal: cannot close pebble: %w", err)
	}
	return nil
}

// checkPartition returns an error for a partition out of range.
func (l *Log) checkPartition(p uint32) error {
	if p >= l.parts {
		return fmt.Errorf("swarmmq/wal: partition %d out of range [0, %d)", p, l.parts)
	}
	return nil
}

// usable returns ErrClosed or the sticky failure. The caller holds life.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.err
}
