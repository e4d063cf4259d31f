package wal

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

var powerSeed = flag.Uint64("wal.seed", 0, "first seed of TestPowerLossConcurrent (0: from the clock)")

// TestPowerLossConcurrent cuts the power of a log under concurrent appends
// with a tiny memtable, so that the cut also falls during memtable flushes,
// compactions and MANIFEST writes. The cut is taken (CrashClone, only the
// synced bytes or also a random share of the unsynced ones) the instant an
// appender's Wait returned. The reopened log must hold every append whose
// Wait returned before the cut (under SyncInterval: once
// swarmmq_wal_interval_syncs_total had grown by two since), at its index,
// with its data, and nothing at any index but what was appended there.
// Each run's choices come from its logged seed (-wal.seed=S replays them).
func TestPowerLossConcurrent(t *testing.T) {
	seed := *powerSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("first seed %d (rerun with -wal.seed=S)", seed)
	for i := range uint64(4) {
		s := seed + i
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) { walPowerRun(t, s) })
	}
}

// walLedger records the appends of a run. Safe for concurrent use.
type walLedger struct {
	interval bool
	syncs    *metrics.Counter

	mu       sync.Mutex
	data     map[[2]uint64]string // (partition, index) → the data appended there
	acked    map[[2]uint64]uint64 // (partition, index) → syncs when Wait returned
	left     int                  // acknowledged appends until the cut
	final    uint64               // syncs at the cut
	crashed  *vfs.MemFS
	cut      chan struct{}
	original *vfs.MemFS
	cfg      vfs.CrashCloneCfg
}

// appended records an Append whose Wait returned nil (if waited).
func (w *walLedger) appended(entries []Entry, idx []uint64, waited bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := w.syncs.Get()
	for i, e := range entries {
		k := [2]uint64{uint64(e.Partition), idx[i]}
		w.data[k] = string(e.Data)
		if waited && w.crashed == nil {
			w.acked[k] = at
		}
	}
	// Under SyncInterval the countdown waits for a few syncs, so that
	// the cut finds appends the bound says must have survived.
	if waited && w.crashed == nil && (!w.interval || at >= 3) {
		if w.left--; w.left <= 0 {
			w.final = w.syncs.Get()
			w.crashed = w.original.CrashClone(w.cfg)
			close(w.cut)
		}
	}
}

func walPowerRun(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	const parts = 4
	fs := vfs.NewCrashableMem()
	set := metrics.NewSet()
	opts := Options{Dir: "db", FS: fs, Partitions: parts, MemTableSize: MinMemTableSize, Metrics: set,
		Sync: SyncPolicy(seed % 2), SyncInterval: time.Duration(1+r.IntN(4)) * time.Millisecond}
	if r.IntN(2) == 0 {
		// A memtable that never fills: no flush, so no WAL rotation (which
		// syncs the old WAL) hides what the interval syncer must do.
		opts.MemTableSize = 4 << 20
	}
	w := &walLedger{interval: opts.Sync == SyncInterval, syncs: set.GetOrCreateCounter("swarmmq_wal_interval_syncs_total"),
		data: map[[2]uint64]string{}, acked: map[[2]uint64]uint64{}, left: 50 + r.IntN(400),
		cut: make(chan struct{}), original: fs}
	if r.IntN(2) == 0 {
		w.cfg = vfs.CrashCloneCfg{UnsyncedDataPercent: 1 + r.IntN(100), RNG: rand.New(rand.NewPCG(seed, 1))}
	}
	t.Logf("sync %s every %s, memtable %d bytes, cut after %d acknowledged appends keeping %d%% of the unsynced data",
		opts.Sync, opts.SyncInterval, opts.MemTableSize, w.left, w.cfg.UnsyncedDataPercent)
	l, err := Open(opts)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for a := range 3 {
		rng := rand.New(rand.NewPCG(seed, uint64(10+a)))
		wg.Go(func() { walAppender(t, l, w, a, rng) })
	}
	wg.Wait()
	m := l.db.Metrics()
	t.Logf("%d flushes and %d compactions before the log was closed", m.Flush.Count, m.Compact.Count)
	require.NoError(t, l.Close())

	l, err = Open(Options{Dir: "db", FS: w.crashed, Partitions: parts, MemTableSize: opts.MemTableSize})
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	w.check(t, l, parts)
}

// walAppender appends random entries and waits for them until the cut.
func walAppender(t *testing.T, l *Log, w *walLedger, a int, rng *rand.Rand) {
	for k := 0; ; k++ {
		select {
		case <-w.cut:
			return
		default:
		}
		entries := make([]Entry, 1+rng.IntN(8))
		for i := range entries {
			entries[i] = Entry{Partition: uint32(rng.IntN(4)),
				Data: fmt.Appendf(nil, "a%d-%d-%d-%s", a, k, i, make([]byte, rng.IntN(400)))}
		}
		idx := make([]uint64, len(entries))
		p, err := l.Append(entries, idx)
		if err != nil {
			t.Errorf("append: %v", err)
			return
		}
		w.appended(entries, idx, false)
		if err := p.Wait(); err != nil {
			t.Errorf("wait: %v", err)
			return
		}
		w.appended(entries, idx, true)
	}
}

// check replays the crashed log: every entry is one that was appended at
// its index, and every durable acknowledged append is there.
func (w *walLedger) check(t *testing.T, l *Log, parts uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	present, lost := 0, 0
	for p := range parts {
		got := replayAll(t, l, p, 0)
		for _, e := range got {
			want, ok := w.data[[2]uint64{uint64(p), e.Index}]
			require.True(t, ok && want == e.Data, "partition %d index %d holds data never appended there", p, e.Index)
		}
		present += len(got)
		for k, at := range w.acked {
			if k[0] != uint64(p) || k[1] <= uint64(len(got)) {
				continue
			}
			lost++
			require.False(t, !w.interval || w.final >= at+2,
				"partition %d lost index %d, acknowledged at %d interval syncs (%d at the cut)", p, k[1], at, w.final)
		}
	}
	t.Logf("entries appended %d, acknowledged before the cut %d, present after %d, acknowledged and lost (allowed) %d, interval syncs %d",
		len(w.data), len(w.acked), present, lost, w.final)
}
