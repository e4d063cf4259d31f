package wal

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

const (
	concParts     = 3
	concAppenders = 4
	concBatches   = 60
	concPerBatch  = 7
)

// TestConcurrentAppend runs several appenders, each pipelining its batches,
// over shared partitions, and checks that each partition's indexes are
// contiguous, that every entry sits at the index Append returned, and that
// each appender's entries keep their order within a partition.
func TestConcurrentAppend(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
		t.Run("sync="+policy.String(), func(t *testing.T) {
			opts := memOptions(vfs.NewMem(), concParts)
			opts.Sync, opts.SyncInterval = policy, MinSyncInterval
			l := mustOpen(t, opts)

			// got[a][seq] is the index Append gave entry seq of appender a.
			got := make([][]uint64, concAppenders)
			var wg sync.WaitGroup
			for a := range concAppenders {
				wg.Go(func() { got[a] = runAppender(t, l, a) })
			}
			wg.Wait()
			require.False(t, t.Failed())
			for p := range uint32(concParts) {
				checkPartitionOrder(t, l, p, got)
			}
		})
	}
}

// runAppender appends the entries of appender a, waiting for each batch
// after appending the next, and returns their indexes.
func runAppender(t *testing.T, l *Log, a int) []uint64 {
	var got []uint64
	var prev *Pending
	for b := range concBatches {
		entries := make([]Entry, concPerBatch)
		for i := range entries {
			seq := b*concPerBatch + i
			data := binary.BigEndian.AppendUint32([]byte{byte(a)}, uint32(seq))
			entries[i] = Entry{Partition: uint32(seq % concParts), Data: data}
		}
		idx := make([]uint64, concPerBatch)
		p, err := l.Append(entries, idx)
		if err != nil {
			t.Error(err)
			return nil
		}
		got = append(got, idx...)
		if prev != nil {
			if err := prev.Wait(); err != nil {
				t.Error(err)
				return nil
			}
		}
		prev = p
	}
	if err := prev.Wait(); err != nil {
		t.Error(err)
	}
	return got
}

// checkPartitionOrder replays partition p and checks its entries against the
// indexes the appenders got.
func checkPartitionOrder(t *testing.T, l *Log, p uint32, got [][]uint64) {
	lastSeq := make([]int, concAppenders)
	for a := range lastSeq {
		lastSeq[a] = -1
	}
	n := 0
	err := l.Replay(p, 0, func(index uint64, data []byte) error {
		n++
		require.Equal(t, uint64(n), index)
		a, seq := int(data[0]), int(binary.BigEndian.Uint32(data[1:]))
		require.Greater(t, seq, lastSeq[a], "appender %d out of order in partition %d", a, p)
		lastSeq[a] = seq
		require.Equal(t, got[a][seq], index, "entry stored at the index Append returned")
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, concAppenders*concBatches*concPerBatch/concParts, n)
	require.Equal(t, uint64(n), l.LastIndex(p))
}
