package wal

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// memOptions returns options for a log of n partitions on fs.
func memOptions(fs vfs.FS, n uint32) Options {
	return Options{Dir: "db", FS: fs, Partitions: n, MemTableSize: MinMemTableSize * 4}
}

// mustOpen opens a log and closes it when the test ends.
func mustOpen(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// appendWait appends entries, waits for them, and returns their indexes.
func appendWait(t testing.TB, l *Log, entries []Entry) []uint64 {
	t.Helper()
	idx := make([]uint64, len(entries))
	p, err := l.Append(entries, idx)
	require.NoError(t, err)
	require.NoError(t, p.Wait())
	return idx
}

// rec is one replayed entry.
type rec struct {
	Index uint64
	Data  string
}

// replayAll returns the entries of partition p after index after.
func replayAll(t testing.TB, l *Log, p uint32, after uint64) []rec {
	t.Helper()
	var out []rec
	err := l.Replay(p, after, func(index uint64, data []byte) error {
		out = append(out, rec{index, string(data)})
		return nil
	})
	require.NoError(t, err)
	return out
}

// payload names entry i of partition p.
func payload(p uint32, i int) string {
	return fmt.Sprintf("p%d-e%d", p, i)
}
