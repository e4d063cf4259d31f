package wal

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestCrashKeepsAcknowledgedAppends crashes a log (keeping only synced data,
// plus a random share of unsynced data) after a run of appends, some of them
// in flight, and checks that every append whose Wait returned nil survived,
// in order, with contiguous indexes.
func TestCrashKeepsAcknowledgedAppends(t *testing.T) {
	for run := range 4 {
		seed := rand.Uint64()
		t.Logf("run %d: seed %d", run, seed)
		crashRun(t, rand.New(rand.NewPCG(seed, uint64(run))))
	}
}

func crashRun(t *testing.T, rng *rand.Rand) {
	const parts = 4
	fs := vfs.NewCrashableMem()
	l, err := Open(memOptions(fs, parts))
	require.NoError(t, err)

	acked := make([][]rec, parts)
	var inFlight []*Pending
	for range 20 + rng.IntN(30) {
		entries := make([]Entry, 1+rng.IntN(50))
		for i := range entries {
			entries[i] = Entry{Partition: uint32(rng.IntN(parts)), Data: randomData(rng)}
		}
		idx := make([]uint64, len(entries))
		p, err := l.Append(entries, idx)
		require.NoError(t, err)
		if rng.IntN(4) == 0 { // pipelined: this one is still unacknowledged at the crash
			inFlight = append(inFlight, p)
			continue
		}
		require.NoError(t, p.Wait())
		for i, e := range entries {
			acked[e.Partition] = append(acked[e.Partition], rec{idx[i], string(e.Data)})
		}
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(100), RNG: rand.New(rand.NewPCG(rng.Uint64(), 0))})
	for _, p := range inFlight {
		require.NoError(t, p.Wait())
	}
	require.NoError(t, l.Close())

	l, err = Open(memOptions(crashed, parts))
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	for p := range uint32(parts) {
		got := replayAll(t, l, p, 0)
		require.GreaterOrEqual(t, len(got), len(acked[p]), "partition %d lost acknowledged entries", p)
		for i, r := range got {
			require.Equal(t, uint64(i+1), r.Index)
		}
		for _, a := range acked[p] {
			require.Equal(t, a, got[a.Index-1], "partition %d", p)
		}
		require.Equal(t, uint64(len(got)), l.LastIndex(p))
	}
}

func randomData(rng *rand.Rand) []byte {
	b := make([]byte, rng.IntN(300))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestCrashAfterIntervalSync checks that under SyncInterval the appends
// before a completed interval sync survive a crash.
func TestCrashAfterIntervalSync(t *testing.T) {
	fs := vfs.NewCrashableMem()
	tick := make(chan time.Time)
	synced := make(chan error)
	opts := memOptions(fs, 2)
	opts.Sync = SyncInterval
	l, err := open(opts, hooks{tick: tick, synced: func(err error) { synced <- err }})
	require.NoError(t, err)

	want := []rec{{1, "a"}, {2, "b"}, {3, "c"}}
	for _, r := range want {
		appendWait(t, l, []Entry{{Partition: 1, Data: []byte(r.Data)}})
	}
	tick <- time.Time{}
	require.NoError(t, <-synced)
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	tick <- time.Time{}
	require.NoError(t, <-synced, "a tick with nothing appended does nothing")
	require.NoError(t, l.Close())

	l = mustOpen(t, memOptions(crashed, 2))
	require.Equal(t, want, replayAll(t, l, 1, 0))
}

// TestCrashWithoutIntervalSync shows the data-loss window of SyncInterval:
// with the syncer never ticking, a crash loses the acknowledged appends.
func TestCrashWithoutIntervalSync(t *testing.T) {
	fs := vfs.NewCrashableMem()
	opts := memOptions(fs, 2)
	opts.Sync = SyncInterval
	l, err := open(opts, hooks{tick: make(chan time.Time)})
	require.NoError(t, err)
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("lost")}})
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, l.Close())

	l = mustOpen(t, memOptions(crashed, 2))
	require.Empty(t, replayAll(t, l, 0, 0))
	require.Equal(t, uint64(0), l.LastIndex(0))
}

// TestIntervalSyncsCounted checks swarmmq_wal_interval_syncs_total: it
// counts the interval syncs that ran and succeeded, not the idle ticks.
func TestIntervalSyncsCounted(t *testing.T) {
	set := metrics.NewSet()
	tick := make(chan time.Time)
	synced := make(chan error)
	opts := memOptions(vfs.NewMem(), 1)
	opts.Sync, opts.Metrics = SyncInterval, set
	l, err := open(opts, hooks{tick: tick, synced: func(err error) { synced <- err }})
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	count := set.GetOrCreateCounter("swarmmq_wal_interval_syncs_total")

	step := func() {
		tick <- time.Time{}
		require.NoError(t, <-synced)
	}
	step()
	require.Equal(t, uint64(0), count.Get(), "nothing appended: no sync")
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("a")}})
	step()
	require.Equal(t, uint64(1), count.Get())
	step()
	require.Equal(t, uint64(1), count.Get(), "nothing appended since: no sync")
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("b")}})
	step()
	require.Equal(t, uint64(2), count.Get())
}
