package wal

import (
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// fill appends n entries to partition 0.
func fill(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		appendWait(t, l, []Entry{{Partition: 0, Data: []byte(payload(0, i))}})
	}
}

func TestReplayDetectsBadChecksum(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 1))
	fill(t, l, 5)
	// Flip a bit of the record of entry 3, written straight into Pebble.
	v := make([]byte, crcLen+len(payload(0, 2)))
	putEntryValue(v, []byte(payload(0, 2)))
	v[len(v)-1] ^= 1
	require.NoError(t, l.db.Set(logKey(0, 3), v, pebble.Sync))

	var seen []uint64
	err := l.Replay(0, 0, func(index uint64, _ []byte) error {
		seen = append(seen, index)
		return nil
	})
	require.True(t, IsCorrupt(err), "got %v", err)
	require.ErrorContains(t, err, "entry 3 of partition 0: checksum")
	require.Equal(t, []uint64{1, 2}, seen, "replay stops at the corrupt entry")
	require.NoError(t, l.Replay(0, 3, func(uint64, []byte) error { return nil }))

	require.NoError(t, l.db.Set(logKey(0, 4), []byte{1, 2}, pebble.Sync))
	require.True(t, IsCorrupt(l.Replay(0, 3, func(uint64, []byte) error { return nil })))
}

func TestReplayDetectsGap(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 1))
	fill(t, l, 5)
	require.NoError(t, l.db.Delete(logKey(0, 3), pebble.Sync))
	err := l.Replay(0, 0, func(uint64, []byte) error { return nil })
	require.True(t, IsCorrupt(err))
	require.ErrorContains(t, err, "found index 4 where 3 was expected")
}

func TestReplayReturnsCallbackError(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 1))
	fill(t, l, 3)
	stop := errors.New("stop")
	n := 0
	err := l.Replay(0, 0, func(uint64, []byte) error {
		n++
		return stop
	})
	require.Same(t, stop, err)
	require.Equal(t, 1, n)
}

func TestOpenDetectsCorruptSnapshot(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open(memOptions(fs, 2))
	require.NoError(t, err)
	require.NoError(t, l.SaveSnapshot(1, 0, math.MaxUint64, []byte("state")))
	v := snapshotValue(0, []byte("state"))
	v[len(v)-1] ^= 1
	require.NoError(t, l.db.Set(partKey(prefixSnapshot, 1), v, pebble.Sync))
	_, _, _, err = l.LoadSnapshot(1)
	require.True(t, IsCorrupt(err))
	require.NoError(t, l.Close())

	_, err = Open(memOptions(fs, 2))
	require.True(t, IsCorrupt(err), "got %v", err)
}

func TestOpenRefusesDataWithoutMarker(t *testing.T) {
	fs := vfs.NewMem()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: pebbleLogger{lg: slog.New(slog.DiscardHandler), lim: newLimiter(logEvery, time.Now)}})
	require.NoError(t, err)
	require.NoError(t, db.Set(logKey(0, 1), []byte{0, 0, 0, 0}, pebble.Sync))
	require.NoError(t, db.Close())

	_, err = Open(memOptions(fs, 2))
	require.True(t, IsCorrupt(err), "got %v", err)
}
