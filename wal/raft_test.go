package wal

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func raftAppend(t *testing.T, l *Log, p uint32, from uint64, recs ...string) {
	t.Helper()
	rb := l.NewRaftBatch()
	for i, r := range recs {
		rb.Append(p, from+uint64(i), []byte(r))
	}
	require.NoError(t, rb.Commit(true))
}

func rangeAll(t *testing.T, l *Log, p uint32, lo, hi uint64) []rec {
	t.Helper()
	var out []rec
	require.NoError(t, l.ReadRange(p, lo, hi, func(i uint64, d []byte) bool {
		out = append(out, rec{i, string(d)})
		return true
	}))
	return out
}

// TestRaftEntriesReadAsRecords: an entry written by the raft batch is read
// back by Read and Replay as the record, unchanged.
func TestRaftEntriesReadAsRecords(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 2))
	rb := l.NewRaftBatch()
	rb.Append(1, 1, nil) // raft's empty entry of a new leader
	rb.Append(1, 2, []byte("a"))
	rb.Append(1, 3, []byte("b"))
	rb.SetTerm(1, 1, 5)
	rb.SetState(1, RaftState{First: 1, Term: 5, Vote: 2, Commit: 2, Conf: []byte{7}})
	require.NoError(t, rb.Commit(true))

	got, err := l.Read(1, 2, nil)
	require.NoError(t, err)
	require.Equal(t, "a", string(got))
	require.Equal(t, []rec{{1, ""}, {2, "a"}, {3, "b"}}, replayAll(t, l, 1, 0))
	require.Equal(t, uint64(3), l.LastIndex(1))
	s, ok, err := l.LoadRaftState(1)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, RaftState{First: 1, Term: 5, Vote: 2, Commit: 2, Conf: []byte{7}}, s)
	_, ok, err = l.LoadRaftState(0)
	require.NoError(t, err)
	require.False(t, ok)
	isRaft, err := l.IsRaft()
	require.NoError(t, err)
	require.True(t, isRaft)
}

// TestRaftTruncate: appending at an index not after the last replaces the
// suffix and its term runs.
func TestRaftTruncate(t *testing.T) {
	l := mustOpen(t, memOptions(vfs.NewMem(), 1))
	rb := l.NewRaftBatch()
	for i, r := range []string{"a", "b", "c", "d"} {
		rb.Append(0, uint64(i+1), []byte(r))
	}
	rb.SetTerm(0, 1, 1)
	rb.SetTerm(0, 3, 2)
	rb.SetTerm(0, 4, 3)
	require.NoError(t, rb.Commit(true))

	rb = l.NewRaftBatch()
	rb.Append(0, 3, []byte("C"))
	rb.SetTerm(0, 3, 4)
	require.NoError(t, rb.Commit(true))
	require.Equal(t, uint64(3), l.LastIndex(0))
	require.Equal(t, []rec{{1, "a"}, {2, "b"}, {3, "C"}}, rangeAll(t, l, 0, 1, 4))
	runs, err := l.LoadTermRuns(0)
	require.NoError(t, err)
	require.Equal(t, []TermRun{{1, 1}, {3, 4}}, runs)
	err = l.ReadRange(0, 2, 5, func(uint64, []byte) bool { return true })
	require.ErrorIs(t, err, ErrNotFound)
}

// TestRaftCompactAndRestore: Compact keeps the entries from keepFrom and the
// run before them; Restore replaces the log by a snapshot and its records.
func TestRaftCompactAndRestore(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, memOptions(fs, 1))
	raftAppend(t, l, 0, 1, "a", "b", "c", "d", "e")
	rb := l.NewRaftBatch()
	rb.SetTerm(0, 1, 1)
	rb.SetTerm(0, 2, 2)
	rb.SetTerm(0, 5, 3)
	require.NoError(t, rb.Commit(true))

	rb = l.NewRaftBatch()
	rb.Compact(0, 4, 3, 2, []byte("state@4"))
	require.NoError(t, rb.Commit(true))
	idx, data, ok, err := l.LoadSnapshot(0)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(4), idx)
	require.Equal(t, "state@4", string(data))
	_, err = l.Read(0, 2, nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, []rec{{3, "c"}, {4, "d"}, {5, "e"}}, rangeAll(t, l, 0, 3, 6))
	runs, err := l.LoadTermRuns(0)
	require.NoError(t, err)
	require.Equal(t, []TermRun{{2, 2}, {5, 3}}, runs)

	rb = l.NewRaftBatch()
	rb.Restore(0, 9, 7, []byte("state@9"), 8, [][]byte{[]byte("h"), []byte("i")})
	require.NoError(t, rb.Commit(true))
	require.Equal(t, uint64(9), l.LastIndex(0))
	require.Equal(t, []rec{{8, "h"}, {9, "i"}}, rangeAll(t, l, 0, 8, 10))
	_, err = l.Read(0, 5, nil)
	require.ErrorIs(t, err, ErrNotFound)
	runs, err = l.LoadTermRuns(0)
	require.NoError(t, err)
	require.Equal(t, []TermRun{{9, 7}}, runs)
	require.NoError(t, l.Close())

	// The indexes survive a restart.
	l2 := mustOpen(t, memOptions(fs, 1))
	require.Equal(t, uint64(9), l2.LastIndex(0))
	raftAppend(t, l2, 0, 10, "j")
	require.Equal(t, []rec{{10, "j"}}, replayAll(t, l2, 0, 0))
}

func TestDecodeRaftStateRefuses(t *testing.T) {
	v := appendRaftState(nil, RaftState{First: 3, Term: 2, Conf: []byte("xy")})
	_, err := DecodeRaftState(v[:raftStateFixed-1])
	require.True(t, IsCorrupt(err))
	bad := append([]byte(nil), v...)
	bad[len(bad)-1] ^= 1
	_, err = DecodeRaftState(bad)
	require.True(t, IsCorrupt(err))
	s, err := DecodeRaftState(v)
	require.NoError(t, err)
	require.Equal(t, RaftState{First: 3, Term: 2, Conf: []byte("xy")}, s)
}

func FuzzDecodeRaftState(f *testing.F) {
	f.Add(appendRaftState(nil, RaftState{First: 1, Term: 2, Vote: 3, Commit: 4, Conf: []byte{1, 2}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		s, err := DecodeRaftState(v)
		if err != nil {
			if !IsCorrupt(err) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		if got := appendRaftState(nil, s); string(got) != string(v) {
			t.Fatalf("re-encoding differs: %x vs %x", got, v)
		}
	})
}
