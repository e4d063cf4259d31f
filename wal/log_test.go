package wal

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func TestAppendReplayRoundTrip(t *testing.T) {
	const parts = 12
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	fs := vfs.NewMem()
	l := mustOpen(t, memOptions(fs, parts))

	want := make([][]rec, parts)
	for range 50 {
		entries := make([]Entry, 1+rng.IntN(40))
		for i := range entries {
			p := uint32(rng.IntN(parts))
			entries[i] = Entry{Partition: p, Data: []byte(payload(p, len(want[p])+countIn(entries[:i], p)))}
		}
		idx := appendWait(t, l, entries)
		for i, e := range entries {
			p := e.Partition
			require.Equal(t, uint64(len(want[p])+1), idx[i], "indexes of partition %d are contiguous", p)
			want[p] = append(want[p], rec{idx[i], string(e.Data)})
		}
	}
	check := func(l *Log) {
		t.Helper()
		for p := range uint32(parts) {
			require.Equal(t, uint64(len(want[p])), l.LastIndex(p))
			require.Equal(t, want[p], replayAll(t, l, p, 0))
			if n := len(want[p]); n > 2 {
				require.Equal(t, want[p][n/2:], replayAll(t, l, p, uint64(n/2)))
			}
		}
	}
	check(l)
	require.NoError(t, l.Close())

	l = mustOpen(t, memOptions(fs, parts))
	check(l)
	idx := appendWait(t, l, []Entry{{Partition: 3, Data: []byte("after reopen")}})
	require.Equal(t, uint64(len(want[3])+1), idx[0])
}

// countIn counts the entries of partition p.
func countIn(entries []Entry, p uint32) int {
	n := 0
	for _, e := range entries {
		if e.Partition == p {
			n++
		}
	}
	return n
}

func TestAppendArguments(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 4))

	_, err := l.Append([]Entry{{Partition: 4}}, make([]uint64, 1))
	require.ErrorContains(t, err, "out of range")
	_, err = l.Append(make([]Entry, 2), make([]uint64, 1))
	require.ErrorContains(t, err, "2 entries")
	p, err := l.Append(nil, nil)
	require.NoError(t, err)
	require.NoError(t, p.Wait())

	idx := appendWait(t, l, []Entry{{Partition: 1}, {Partition: 1, Data: []byte{}}})
	require.Equal(t, []uint64{1, 2}, idx, "empty records are entries too")
	require.Equal(t, uint64(0), l.LastIndex(9))
	require.ErrorContains(t, l.Replay(7, 0, nil), "out of range")
}

func TestPartitionCountMismatch(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open(memOptions(fs, 8))
	require.NoError(t, err)
	require.NoError(t, l.Close())

	_, err = Open(memOptions(fs, 16))
	require.ErrorIs(t, err, ErrPartitions)
	require.ErrorContains(t, err, "created with 8 partitions and this node is configured for 16 (cluster.partitions)")

	l, err = Open(memOptions(fs, 8))
	require.NoError(t, err, "the failed open released the database")
	require.NoError(t, l.Close())
}

func TestClose(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
		t.Run("sync="+policy.String(), func(t *testing.T) {
			opts := memOptions(vfs.NewMem(), 2)
			opts.Sync = policy
			l, err := Open(opts)
			require.NoError(t, err)
			appendWait(t, l, []Entry{{Partition: 0, Data: []byte("x")}})
			p, err := l.Append([]Entry{{Partition: 1, Data: []byte("y")}}, make([]uint64, 1))
			require.NoError(t, err)

			require.NoError(t, l.Close())
			require.NoError(t, l.Close(), "Close is idempotent")
			require.NoError(t, p.Wait(), "a batch applied before Close is synced by it")

			_, err = l.Append([]Entry{{Partition: 0}}, make([]uint64, 1))
			require.ErrorIs(t, err, ErrClosed)
			require.ErrorIs(t, l.Replay(0, 0, nil), ErrClosed)
			require.ErrorIs(t, l.SaveSnapshot(0, 1, math.MaxUint64, nil), ErrClosed)
			_, _, _, err = l.LoadSnapshot(0)
			require.ErrorIs(t, err, ErrClosed)
			require.Equal(t, uint64(1), l.LastIndex(0))
		})
	}
}

func TestMetrics(t *testing.T) {
	set := metrics.NewSet()
	opts := memOptions(vfs.NewMem(), 2)
	opts.Metrics = set
	l := mustOpen(t, opts)
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("abc")}, {Partition: 1, Data: []byte("de")}})
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("f")}})

	var b strings.Builder
	set.WritePrometheus(&b)
	out := b.String()
	for _, line := range []string{
		"swarmmq_wal_append_batches_total 2",
		"swarmmq_wal_append_entries_total 3",
		"swarmmq_wal_append_bytes_total 6",
		"swarmmq_wal_errors_total 0",
		"swarmmq_wal_sync_seconds_count",
	} {
		require.Contains(t, out, line)
	}
}

func TestSentinels(t *testing.T) {
	err := corruptf("entry %d", 7)
	require.True(t, IsCorrupt(err))
	require.Equal(t, "swarmmq/wal: corrupt data: entry 7", err.Error())
	require.False(t, IsCorrupt(errors.New("other")))
	require.False(t, IsCorrupt(nil))
}
