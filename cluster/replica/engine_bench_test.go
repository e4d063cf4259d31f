package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/wal"
)

// chanTransport delivers at once to the engines of the process.
type chanTransport struct{ engines []*Engine }

func (c *chanTransport) Send(msgs []Message) {
	for _, m := range msgs {
		c.engines[m.Msg.GetTo()-1].Step(m)
	}
}

// nopSM applies nothing.
type nopSM struct{}

func (nopSM) Apply(uint32, []Entry) error          { return nil }
func (nopSM) Restore(uint32, uint64, []byte) error { return nil }
func (nopSM) Lost(uint32, any, error)              {}

// BenchmarkEngine runs 3 replicas in process, each with its own Pebble on
// disk (b.TempDir) and its loop running in real time, and has 64
// goroutines propose 256-byte records with ProposeWait across the
// partitions' leaders. It reports proposals/s and the fsyncs/s of all
// three nodes together.
func BenchmarkEngine(b *testing.B) {
	for _, parts := range []uint32{1, 4, 16} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) { benchEngine(b, parts) })
	}
}

func benchEngine(b *testing.B, parts uint32) {
	const nodes, proposers = 3, 64
	tr := &chanTransport{}
	// changed is broadcast on every leadership change; changes counts them.
	var lmu sync.Mutex
	changed := sync.NewCond(&lmu)
	changes := 0
	var engines []*Engine
	for i := range nodes {
		l, err := wal.Open(wal.Options{Dir: b.TempDir(), Partitions: parts})
		require.NoError(b, err)
		b.Cleanup(func() { _ = l.Close() })
		var groups []Group
		for p := range parts {
			groups = append(groups, Group{Partition: p, Peers: []uint64{1, 2, 3}})
		}
		e, err := New(Options{ID: uint64(i + 1), Log: l, Groups: groups, Transport: tr, StateMachine: nopSM{},
			Hooks: Hooks{LeaderChange: func(uint32, Leadership) {
				lmu.Lock()
				changes++
				lmu.Unlock()
				changed.Broadcast()
			}}})
		require.NoError(b, err)
		engines = append(engines, e)
	}
	tr.engines = engines
	for _, e := range engines {
		e.Start()
	}
	b.Cleanup(func() {
		for _, e := range engines {
			_ = e.Stop(context.Background())
		}
	})
	leaderOf := func(p uint32) *Engine {
		for _, e := range engines {
			if l, _ := e.Leadership(p); l.Serving && l.Leader == e.opts.ID {
				return e
			}
		}
		return nil
	}
	// waitLeader blocks until p has a serving leader.
	waitLeader := func(p uint32) *Engine {
		lmu.Lock()
		defer lmu.Unlock()
		for {
			if e := leaderOf(p); e != nil {
				return e
			}
			changed.Wait()
		}
	}
	for p := range parts {
		waitLeader(p)
	}
	lmu.Lock()
	changesBefore := changes
	lmu.Unlock()
	before := make([]Stats, nodes)
	for i, e := range engines {
		before[i] = e.Stats()
	}
	data := make([]byte, 256)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := range proposers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= b.N {
					return
				}
				p := uint32((w + i) % int(parts))
				// Like a client: on a leader change, wait for the new
				// leader and retry.
				for {
					_, err := waitLeader(p).ProposeWait(context.Background(), p, data)
					if err == nil {
						break
					}
					var nl *NotLeaderError
					if !errors.As(err, &nl) && !errors.Is(err, ErrLost) && !errors.Is(err, ErrUnknown) && !errors.Is(err, ErrDropped) {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	var fsyncs, iters uint64
	for i, e := range engines {
		s := e.Stats()
		fsyncs += s.Fsyncs - before[i].Fsyncs
		iters += s.Iterations - before[i].Iterations
	}
	b.ReportMetric(float64(b.N)/elapsed, "proposals/s")
	b.ReportMetric(float64(fsyncs)/elapsed, "fsyncs/s")
	b.ReportMetric(float64(b.N)/float64(max(fsyncs, 1))*nodes, "proposals/fsync/node")
	lmu.Lock()
	b.ReportMetric(float64(changes-changesBefore), "leader-changes")
	lmu.Unlock()
}
