package owner

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewLeadsEveryPartition(t *testing.T) {
	m, err := New(6, 4)
	require.NoError(t, err)
	tb := m.Load()
	for p := uint32(0); p < 6; p++ {
		require.True(t, tb.Leads(p))
		require.Equal(t, int(p%4), tb.Worker(p))
	}
	require.False(t, tb.Leads(6), "out of range")
	require.Equal(t, []uint32{0, 4}, tb.WorkerPartitions(nil, 0))
	require.Equal(t, []uint32{3}, tb.WorkerPartitions(nil, 3))
	require.Equal(t, []uint32{0, 1, 2, 3, 4, 5}, tb.Led(nil))
}

func TestNewTableChecksWorkers(t *testing.T) {
	f := func(partitions uint32, workers int, ok bool) {
		t.Helper()
		_, err := NewTable(partitions, workers, nil)
		require.Equal(t, ok, err == nil, "%d partitions, %d workers: %v", partitions, workers, err)
	}
	f(16, 1, true)
	f(16, 16, true)
	f(16, 0, false)
	f(16, 17, false)
	f(0, 1, false)
}

// TestWorkerPartitionsCoverEachOnce: every partition is applied by exactly
// one worker, the one Worker names.
func TestWorkerPartitionsCoverEachOnce(t *testing.T) {
	for _, c := range []struct {
		parts   uint32
		workers int
	}{{1, 1}, {16, 2}, {16, 3}, {7, 7}, {100, 9}} {
		tb, err := NewTable(c.parts, c.workers, nil)
		require.NoError(t, err)
		seen := make(map[uint32]int)
		for w := 0; w < c.workers; w++ {
			for _, p := range tb.WorkerPartitions(nil, w) {
				require.Equal(t, w, tb.Worker(p))
				seen[p]++
			}
		}
		require.Len(t, seen, int(c.parts))
		for p, n := range seen {
			require.Equal(t, 1, n, "partition %d", p)
		}
	}
}

// TestLeadershipMoves: a changed table is seen by the next Load; a table
// already loaded does not change under its reader; workers stay.
func TestLeadershipMoves(t *testing.T) {
	m, err := New(4, 2)
	require.NoError(t, err)
	before := m.Load()
	m.SetLeader(2, false)
	after := m.Load()
	require.True(t, before.Leads(2), "a loaded table is immutable")
	require.False(t, after.Leads(2))
	require.Equal(t, []uint32{0, 1, 3}, after.Led(nil))
	require.Equal(t, before.Worker(2), after.Worker(2))
	m.SetLeader(2, true)
	require.True(t, m.Load().Leads(2))

	other, err := NewTable(4, 1, nil)
	require.NoError(t, err)
	require.Error(t, m.Store(other), "a partition never changes worker")
	led, err := NewTable(4, 2, func(p uint32) bool { return p == 1 })
	require.NoError(t, err)
	require.NoError(t, m.Store(led))
	require.Equal(t, []uint32{1}, m.Load().Led(nil))
}

// TestSetLeaderConcurrent: concurrent changes of different partitions all
// take effect while readers load.
func TestSetLeaderConcurrent(t *testing.T) {
	m, err := New(64, 2)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for p := uint32(0); p < 64; p += 2 {
		wg.Add(2)
		go func() { defer wg.Done(); m.SetLeader(p, false) }()
		go func() { defer wg.Done(); _ = m.Load().Leads(p) }()
	}
	wg.Wait()
	for p := uint32(0); p < 64; p++ {
		require.Equal(t, p%2 == 1, m.Load().Leads(p), "partition %d", p)
	}
}

func BenchmarkLoadLeads(b *testing.B) {
	m, err := New(16, 2)
	require.NoError(b, err)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		p, n := uint32(0), 0
		for pb.Next() {
			t := m.Load()
			if t.Leads(p) {
				n += t.Worker(p)
			}
			p = (p + 1) % 16
		}
		sink.Add(int64(n))
	})
}

var sink atomic.Int64

// TestPromoteOnlyTheCurrentLeadership: a node takes a partition's requests
// only if the leadership the applier saw is still the table's; every change
// of a leader bumps the epoch.
func TestPromoteOnlyTheCurrentLeadership(t *testing.T) {
	tb, err := NewTable(4, 2, func(uint32) bool { return false })
	require.NoError(t, err)
	m := NewMap(tb)
	self := Leader{ID: "n1", Addr: "127.0.0.1:9001", Term: 2}
	m.SetLeadership(1, false, self)
	require.Equal(t, uint64(1), m.Load().Epoch())
	require.False(t, m.Load().Leads(1))
	require.Equal(t, []string{"", "127.0.0.1:9001", "", ""}, m.Load().LeaderAddrs(nil))

	m.SetLeadership(1, false, Leader{ID: "n2", Addr: "127.0.0.1:9002", Term: 3})
	require.False(t, m.Promote(1, self), "leadership moved since")
	require.False(t, m.Load().Leads(1))
	require.Equal(t, uint64(2), m.Load().Epoch())

	m.SetLeadership(1, false, Leader{ID: "n1", Addr: "127.0.0.1:9001", Term: 4})
	require.True(t, m.Promote(1, Leader{ID: "n1", Addr: "127.0.0.1:9001", Term: 4}))
	require.True(t, m.Load().Leads(1))
	require.Equal(t, uint64(3), m.Load().Epoch(), "promotion changes no leader")
	require.Equal(t, Leader{}, m.Load().Leader(9))
}
