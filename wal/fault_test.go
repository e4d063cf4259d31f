package wal

import (
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// fileFault injects errorfs.ErrInjected into the operations of the given
// kinds on files whose name contains match, while it is on.
type fileFault struct {
	on    atomic.Bool
	match string
	kinds []errorfs.OpKind
	hits  atomic.Int32
}

func (f *fileFault) String() string { return "fileFault(" + f.match + ")" }

func (f *fileFault) MaybeError(op errorfs.Op) error {
	if !f.on.Load() || !strings.Contains(op.Path, f.match) {
		return nil
	}
	for _, k := range f.kinds {
		if op.Kind == k {
			f.hits.Add(1)
			return errorfs.ErrInjected
		}
	}
	return nil
}

var (
	syncOps  = []errorfs.OpKind{errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo}
	writeOps = []errorfs.OpKind{errorfs.OpFileWrite, errorfs.OpFileWriteAt}
)

// TestDiskFaultSyncAlways: a failed write or fsync of the WAL reaches Wait
// as an error, never as a success, and fails the log.
func TestDiskFaultSyncAlways(t *testing.T) {
	for name, kinds := range map[string][]errorfs.OpKind{"op=sync": syncOps, "op=write": writeOps} {
		t.Run(name, func(t *testing.T) {
			fault := &fileFault{match: ".log", kinds: kinds}
			l, err := Open(memOptions(errorfs.Wrap(vfs.NewMem(), fault), 2))
			require.NoError(t, err)
			appendWait(t, l, []Entry{{Partition: 0, Data: []byte("ok")}})

			fault.on.Store(true)
			p, err := l.Append([]Entry{{Partition: 0, Data: []byte("lost")}}, make([]uint64, 1))
			require.NoError(t, err, "the batch is applied before the WAL is written")
			err = p.Wait()
			require.ErrorIs(t, err, errorfs.ErrInjected)
			require.ErrorIs(t, err, ErrFailed)
			require.Equal(t, err, p.Wait(), "Wait returns the same result again")
			require.Positive(t, fault.hits.Load())

			_, err = l.Append([]Entry{{Partition: 1, Data: []byte("refused")}}, make([]uint64, 1))
			require.ErrorIs(t, err, ErrFailed, "a failed log refuses appends")
			require.ErrorIs(t, l.SaveSnapshot(0, 1, math.MaxUint64, nil), ErrFailed)
			require.ErrorIs(t, l.Replay(0, 0, nil), ErrFailed)
			require.ErrorIs(t, l.Close(), errorfs.ErrInjected, "Pebble's WAL writer keeps the error")
		})
	}
}

// TestDiskFaultSyncInterval: a failed interval sync fails the log; Wait of
// an earlier append then reports it.
func TestDiskFaultSyncInterval(t *testing.T) {
	fault := &fileFault{match: ".log", kinds: syncOps}
	tick := make(chan time.Time)
	synced := make(chan error)
	opts := memOptions(errorfs.Wrap(vfs.NewMem(), fault), 2)
	opts.Sync = SyncInterval
	l, err := open(opts, hooks{tick: tick, synced: func(err error) { synced <- err }})
	require.NoError(t, err)

	fault.on.Store(true)
	p, err := l.Append([]Entry{{Partition: 0, Data: []byte("x")}}, make([]uint64, 1))
	require.NoError(t, err)
	require.NoError(t, p.Wait(), "under SyncInterval an append is acknowledged once applied")
	tick <- time.Time{}
	err = <-synced
	require.ErrorIs(t, err, errorfs.ErrInjected)
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorIs(t, p.Wait(), ErrFailed)
	_, err = l.Append([]Entry{{Partition: 0}}, make([]uint64, 1))
	require.ErrorIs(t, err, ErrFailed)
	require.Error(t, l.Close())
}

// TestDiskFaultWedgesPebble: once its WAL writer holds an error, Pebble
// panics on a later write while holding its commit mutex. The panic
// becomes an error of Append, no Wait succeeds, and Close returns at once
// instead of hanging in DB.Close. Pebble's goroutines stay behind, so the
// scenario runs in a child process.
func TestDiskFaultWedgesPebble(t *testing.T) {
	if !inChild() {
		out, err := runChild(t, t.Name())
		require.NoError(t, err, out)
		return
	}
	fault := &fileFault{match: ".log", kinds: syncOps}
	l, err := Open(memOptions(errorfs.Wrap(vfs.NewMem(), fault), 2))
	require.NoError(t, err)
	fault.on.Store(true)

	// The first append's sync fails on Pebble's WAL goroutine. Wait for
	// that (not for the append: the Log would then refuse the next ones
	// itself) before appending more, and keep the entries small: should
	// the memtable fill first, Pebble fails in rotateWAL instead, where
	// its panic cannot be recovered (a flake under load with 10 KB
	// entries and no wait).
	p0, err := l.Append([]Entry{{Partition: 0, Data: []byte("first")}}, make([]uint64, 1))
	require.NoError(t, err)
	pending := []*Pending{p0}
	for deadline := time.Now().Add(30 * time.Second); fault.hits.Load() == 0; {
		require.True(t, time.Now().Before(deadline), "the WAL sync never failed")
		time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
	}
	// Appends without waiting (as a pipelining caller that has not yet seen
	// the failure) until Pebble panics.
	for {
		p, err := l.Append([]Entry{{Partition: 0, Data: make([]byte, 100)}}, make([]uint64, 1))
		if err != nil {
			require.ErrorIs(t, err, ErrFailed)
			require.ErrorContains(t, err, "pebble panicked")
			break
		}
		pending = append(pending, p)
		require.Less(t, len(pending), 1000, "Pebble never panicked")
	}
	for _, p := range pending {
		require.ErrorIs(t, p.Wait(), ErrFailed)
	}
	require.ErrorContains(t, l.Close(), "pebble left open")
}

// TestDiskFaultManifestKillsProcess: a failed MANIFEST write during a
// background flush makes Pebble call Logger.Fatalf on its own goroutine;
// the panic of pebbleLogger ends the process.
func TestDiskFaultManifestKillsProcess(t *testing.T) {
	if !inChild() {
		out, err := runChild(t, t.Name())
		require.Error(t, err)
		require.Contains(t, out, "panic: pebble fatal: MANIFEST")
		return
	}
	fault := &fileFault{match: "MANIFEST", kinds: append(writeOps, syncOps...)}
	l, err := Open(memOptions(errorfs.Wrap(vfs.NewMem(), fault), 2))
	require.NoError(t, err)
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("x")}})
	fault.on.Store(true)
	_ = l.db.Flush() // the flush's goroutine panics
	t.Fatal("the process survived a MANIFEST failure")
}
