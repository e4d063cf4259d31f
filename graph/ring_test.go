package graph

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRingFIFOAndWrap(t *testing.T) {
	r := NewRing[int](4)
	require.Equal(t, 4, r.Cap())
	next, want := 0, 0
	var got []int
	// Push and pop in uneven steps so head wraps around several times.
	for round := 0; round < 10; round++ {
		for r.TryPush(next) {
			next++
		}
		require.Equal(t, 4, r.Len())
		got = r.PopBatch(got[:0], 1+round%4)
		for _, v := range got {
			require.Equal(t, want, v)
			want++
		}
	}
	got = r.PopBatch(got[:0], 100)
	for _, v := range got {
		require.Equal(t, want, v)
		want++
	}
	require.Equal(t, next, want)
	require.Zero(t, r.Len())
	require.Empty(t, r.PopBatch(nil, 10))
	require.Empty(t, r.PopBatch(nil, 0))
}

func TestRingZeroesPoppedSlots(t *testing.T) {
	r := NewRing[*int](3)
	for i := 0; i < 3; i++ {
		v := i
		require.True(t, r.TryPush(&v))
	}
	_ = r.PopBatch(nil, 2)
	require.True(t, r.TryPush(new(int))) // wraps to slot 0
	_ = r.PopBatch(nil, 2)               // pops slots 2 and 0
	nonNil := 0
	r.mu.Lock()
	for _, p := range r.mu.buf {
		if p != nil {
			nonNil++
		}
	}
	r.mu.Unlock()
	require.Zero(t, nonNil, "popped slots must be zeroed")
}

func TestRingWakeUps(t *testing.T) {
	r := NewRing[int](2)
	require.Len(t, r.C(), 0)
	require.True(t, r.TryPush(1))
	require.Len(t, r.C(), 1, "push into an empty ring signals C")
	<-r.C()
	require.True(t, r.TryPush(2))
	require.Len(t, r.C(), 0, "push into a non-empty ring need not signal")

	require.False(t, r.TryPush(3))
	require.Len(t, r.SpaceC(), 0)
	_ = r.PopBatch(nil, 1)
	require.Len(t, r.SpaceC(), 1, "pop after a failed push signals SpaceC")
	<-r.SpaceC()
	_ = r.PopBatch(nil, 1)
	require.Len(t, r.SpaceC(), 0, "only the first pop after a failure signals")
}

func TestRingCloseDrains(t *testing.T) {
	r := NewRing[int](4)
	require.True(t, r.TryPush(1))
	<-r.C()
	r.Close()
	r.Close()
	require.False(t, r.TryPush(2))
	require.ErrorIs(t, r.Push(context.Background(), 2), ErrClosed)
	require.Len(t, r.C(), 1, "Close wakes the consumer")
	require.False(t, r.Closed(), "an item is left")
	require.Equal(t, []int{1}, r.PopBatch(nil, 10))
	require.True(t, r.Closed())
}

func TestRingPushBlocksUntilPop(t *testing.T) {
	r := NewRing[int](1)
	require.NoError(t, r.Push(context.Background(), 1))
	var g Group
	g.Go("pusher", func() error { return r.Push(context.Background(), 2) })
	// The pusher either waits or has not run yet; a pop lets it through.
	got := r.PopBatch(nil, 1)
	for len(got) < 2 {
		<-r.C()
		got = r.PopBatch(got, 1)
	}
	require.NoError(t, g.Wait())
	require.Equal(t, []int{1, 2}, got)
}

func TestRingPushContextAndClose(t *testing.T) {
	r := NewRing[int](1)
	require.True(t, r.TryPush(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, r.Push(ctx, 2), context.Canceled)

	var g Group
	g.Go("pusher", func() error { return r.Push(context.Background(), 3) })
	r.Close()
	require.ErrorIs(t, g.Wait(), ErrClosed)
}

// TestRingConcurrent checks that several producers and one consumer lose
// nothing and keep each producer's order (run it with -race). Producers 0..2
// block in Push; producer 3 uses TryPush and waits on SpaceC, the way netio
// does (SpaceC has one waiter).
func TestRingConcurrent(t *testing.T) {
	const producers, perProducer = 4, 20000
	r := NewRing[[2]int](64)
	var g Group
	for p := 0; p < producers; p++ {
		g.Go(fmt.Sprintf("producer-%d", p), func() error {
			for i := 0; i < perProducer; i++ {
				v := [2]int{p, i}
				if p < producers-1 {
					if err := r.Push(context.Background(), v); err != nil {
						return err
					}
					continue
				}
				for !r.TryPush(v) {
					<-r.SpaceC()
				}
			}
			return nil
		})
	}
	next := make([]int, producers)
	var batch [][2]int
	for total := 0; total < producers*perProducer; {
		batch = r.PopBatch(batch[:0], 16)
		for _, v := range batch {
			require.Equal(t, next[v[0]], v[1], "producer %d out of order", v[0])
			next[v[0]]++
			total++
		}
		if len(batch) < 16 && total < producers*perProducer {
			<-r.C()
		}
	}
	require.NoError(t, g.Wait())
}
