package wal

import (
	"math"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func TestSnapshotTrimsLog(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, memOptions(fs, 2))
	var want []rec
	for i := range 10 {
		d := payload(0, i)
		appendWait(t, l, []Entry{{Partition: 0, Data: []byte(d)}, {Partition: 1, Data: []byte("other")}})
		want = append(want, rec{uint64(i + 1), d})
	}
	_, _, ok, err := l.LoadSnapshot(0)
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, l.SaveSnapshot(0, 6, math.MaxUint64, []byte("state@6")))
	check := func(l *Log) {
		t.Helper()
		idx, data, ok, err := l.LoadSnapshot(0)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, uint64(6), idx)
		require.Equal(t, "state@6", string(data))
		require.Equal(t, want[6:], replayAll(t, l, 0, 0), "entries ≤ 6 are gone")
		require.Equal(t, want[6:], replayAll(t, l, 0, 3))
		require.Equal(t, want[8:], replayAll(t, l, 0, 8))
		require.Len(t, replayAll(t, l, 1, 0), 10, "other partitions are untouched")
		require.Equal(t, uint64(10), l.LastIndex(0))
	}
	check(l)
	require.ErrorContains(t, l.SaveSnapshot(0, 5, math.MaxUint64, nil), "below the current snapshot")

	require.NoError(t, l.Close())
	l = mustOpen(t, memOptions(fs, 2))
	check(l)

	idx := appendWait(t, l, []Entry{{Partition: 0, Data: []byte("next")}})
	require.Equal(t, uint64(11), idx[0])
}

// TestSnapshotKeepFrom: entries from keepFrom on survive the snapshot for
// Read, but Replay still starts after the snapshot's index.
func TestSnapshotKeepFrom(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, memOptions(fs, 1))
	var want []rec
	for i := range 10 {
		appendWait(t, l, []Entry{{Partition: 0, Data: []byte(payload(0, i))}})
		want = append(want, rec{uint64(i + 1), payload(0, i)})
	}
	require.NoError(t, l.SaveSnapshot(0, 6, 4, []byte("state@6")))
	check := func(l *Log) {
		t.Helper()
		for i := uint64(1); i <= 10; i++ {
			b, err := l.Read(0, i, []byte("x"))
			if i < 4 {
				require.ErrorIs(t, err, ErrNotFound, "index %d", i)
				continue
			}
			require.NoError(t, err, "index %d", i)
			require.Equal(t, "x"+want[i-1].Data, string(b), "Read appends to dst")
		}
		require.Equal(t, want[6:], replayAll(t, l, 0, 0))
	}
	check(l)
	require.NoError(t, l.Close())
	l = mustOpen(t, memOptions(fs, 1))
	check(l)
	_, err := l.Read(0, 11, nil)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = l.Read(1, 1, nil)
	require.ErrorContains(t, err, "out of range")

	// A later snapshot trims further.
	require.NoError(t, l.SaveSnapshot(0, 8, 9, nil))
	_, err = l.Read(0, 8, nil)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = l.Read(0, 9, nil)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	_, err = l.Read(0, 9, nil)
	require.ErrorIs(t, err, ErrClosed)
}

func TestSnapshotOfWholeLog(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, memOptions(fs, 1))
	for range 3 {
		appendWait(t, l, []Entry{{Partition: 0, Data: []byte("x")}})
	}
	require.NoError(t, l.SaveSnapshot(0, 3, math.MaxUint64, nil))
	require.Empty(t, replayAll(t, l, 0, 0))
	require.NoError(t, l.Close())

	l = mustOpen(t, memOptions(fs, 1))
	require.Equal(t, uint64(3), l.LastIndex(0), "the snapshot keeps the last index once the log is empty")
	idx := appendWait(t, l, []Entry{{Partition: 0, Data: []byte("y")}})
	require.Equal(t, uint64(4), idx[0])
	require.Equal(t, []rec{{4, "y"}}, replayAll(t, l, 0, 0))
}

func TestSnapshotAheadOfLog(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 1))
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("x")}})
	require.NoError(t, l.SaveSnapshot(0, 100, math.MaxUint64, []byte("installed")))
	require.Equal(t, uint64(100), l.LastIndex(0))
	idx := appendWait(t, l, []Entry{{Partition: 0, Data: []byte("y")}})
	require.Equal(t, uint64(101), idx[0])
	require.Equal(t, []rec{{101, "y"}}, replayAll(t, l, 0, 0))

	require.NoError(t, l.SaveSnapshot(0, math.MaxUint64, math.MaxUint64, nil))
	require.Empty(t, replayAll(t, l, 0, 0))
	require.ErrorContains(t, l.SaveSnapshot(3, 1, math.MaxUint64, nil), "out of range")
}

func TestIndexSpaceExhausted(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 2))
	require.NoError(t, l.SaveSnapshot(0, math.MaxUint64, math.MaxUint64, nil))
	_, err := l.Append([]Entry{{Partition: 1}, {Partition: 0}}, make([]uint64, 2))
	require.ErrorContains(t, err, "no index left")
	require.Equal(t, uint64(0), l.LastIndex(1), "the indexes of the refused batch were given back")
	require.Equal(t, []uint64{1}, appendWait(t, l, []Entry{{Partition: 1}}))
}

// TestFlushesAndTrims drives the log through many memtable flushes, WAL
// rotations and trims, then reopens it.
func TestFlushesAndTrims(t *testing.T) {
	const parts = 4
	fs := vfs.NewMem()
	opts := memOptions(fs, parts)
	opts.MemTableSize = MinMemTableSize
	l := mustOpen(t, opts)
	count := make([]int, parts)
	data := make([]byte, 200)
	for b := range 200 {
		entries := make([]Entry, 50)
		for i := range entries {
			entries[i] = Entry{Partition: uint32(i % parts), Data: data}
			count[i%parts]++
		}
		appendWait(t, l, entries)
		if b%50 == 49 {
			require.NoError(t, l.SaveSnapshot(0, uint64(count[0]-10), math.MaxUint64, []byte("s")))
		}
	}
	require.Positive(t, l.db.Metrics().Flush.Count)
	require.NoError(t, l.Close())

	l = mustOpen(t, opts)
	for p := range uint32(parts) {
		require.Equal(t, uint64(count[p]), l.LastIndex(p))
	}
	require.Len(t, replayAll(t, l, 0, 0), 10)
	require.Len(t, replayAll(t, l, 1, 0), count[1])
}
