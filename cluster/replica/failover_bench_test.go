package replica

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/wal"
)

// liveTransport delivers to the engines that are not stopped.
type liveTransport struct {
	mu      sync.Mutex
	engines []*Engine
	down    map[uint64]bool
}

func (l *liveTransport) Send(msgs []Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range msgs {
		if to := m.Msg.GetTo(); !l.down[to] {
			l.engines[to-1].Step(m)
		}
	}
}

// BenchmarkFailover measures, with the default timeouts and real time, how
// long a 3-replica partition has no serving leader after its leader stops:
// from the leader's Stop to another node reporting Serving.
func BenchmarkFailover(b *testing.B) {
	var total time.Duration
	for range b.N {
		total += failoverOnce(b)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
}

func failoverOnce(b *testing.B) time.Duration {
	tr := &liveTransport{down: map[uint64]bool{}}
	var mu sync.Mutex
	changed := sync.NewCond(&mu)
	serving := map[uint64]bool{}
	var logs []*wal.Log
	for i := range 3 {
		id := uint64(i + 1)
		l, err := wal.Open(wal.Options{Dir: "db", FS: vfs.NewMem(), Partitions: 1, MinFree: -1})
		require.NoError(b, err)
		logs = append(logs, l)
		e, err := New(Options{ID: id, Log: l, Groups: []Group{{Partition: 0, Peers: []uint64{1, 2, 3}}},
			Transport: tr, StateMachine: nopSM{},
			Hooks: Hooks{LeaderChange: func(_ uint32, ld Leadership) {
				mu.Lock()
				serving[id] = ld.Serving
				mu.Unlock()
				changed.Broadcast()
			}}})
		require.NoError(b, err)
		tr.engines = append(tr.engines, e)
	}
	for _, e := range tr.engines {
		e.Start()
	}
	waitServing := func(not uint64) uint64 {
		mu.Lock()
		defer mu.Unlock()
		for {
			for id, s := range serving {
				if s && id != not {
					return id
				}
			}
			changed.Wait()
		}
	}
	old := waitServing(0)
	start := time.Now()
	tr.mu.Lock()
	tr.down[old] = true
	tr.mu.Unlock()
	require.NoError(b, tr.engines[old-1].Stop(context.Background()))
	waitServing(old)
	d := time.Since(start)
	for i, e := range tr.engines {
		require.NoError(b, e.Stop(context.Background()))
		require.NoError(b, logs[i].Close())
	}
	return d
}
