package queue

import (
	"math/rand/v2"
	"testing"
)

// TestRingMatchesSlice drives the chunked ring and a plain slice with the
// same random pushes and pops, across the small-buffer and chunked regimes.
func TestRingMatchesSlice(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var r ring[int]
	var want []int
	next := 0
	for step := 0; step < 200000; step++ {
		// Phases of growth and of drain, so both regimes and the empty
		// ring are crossed many times.
		grow := (step/20000)%2 == 0
		if len(want) == 0 || (grow && rng.IntN(4) != 0) || (!grow && rng.IntN(4) == 0) {
			r.push(next)
			want = append(want, next)
			next++
		} else {
			if got := *r.at(0); got != want[0] {
				t.Fatalf("step %d: front %d, want %d", step, got, want[0])
			}
			r.popFront()
			want = want[1:]
		}
		if r.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, r.len(), len(want))
		}
		if n := len(want); n > 0 {
			i := rng.IntN(n)
			if *r.at(i) != want[i] || *r.back() != want[n-1] {
				t.Fatalf("step %d: at(%d)=%d back=%d, want %d %d", step, i, *r.at(i), *r.back(), want[i], want[n-1])
			}
		}
	}
}

// TestRingReleasesMemory: a drained ring keeps at most a small buffer, and
// consumed chunks are dropped while it still holds elements.
func TestRingReleasesMemory(t *testing.T) {
	var r ring[int]
	for i := 0; i < 10*chunkSize; i++ {
		r.push(i)
	}
	for i := 0; i < 9*chunkSize; i++ {
		r.popFront()
	}
	if len(r.chunks) > 2 {
		t.Fatalf("%d chunks for %d elements", len(r.chunks), r.len())
	}
	for r.len() > 0 {
		r.popFront()
	}
	if r.chunks != nil {
		t.Fatalf("drained ring keeps %d chunks", len(r.chunks))
	}
}

func BenchmarkRingPush(b *testing.B) {
	b.ReportAllocs()
	var r ring[slot]
	for i := 0; i < b.N; i++ {
		r.push(slot{seq: uint64(i)})
	}
}
