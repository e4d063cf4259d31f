package hist

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// exactQuantile is the nearest-rank quantile of sorted.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func TestLayout(t *testing.T) {
	if got := bits.Len64(uint64(Max)) - 1; got != maxExp {
		t.Fatalf("maxExp = %d, want floor(log2(Max)) = %d", maxExp, got)
	}
	if got := index(Max); got >= Buckets {
		t.Fatalf("index(Max) = %d, out of %d buckets", got, Buckets)
	}
	// Every bucket's bounds map back to it, and buckets tile the values.
	next := int64(0)
	for i := range index(Max) + 1 {
		lo, w := bounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if index(lo) != i || index(lo+w-1) != i {
			t.Fatalf("bucket %d [%d,+%d) does not map back", i, lo, w)
		}
		if lo >= 1000 && float64(w)/float64(lo) > 1.0/128 {
			t.Fatalf("bucket %d: width %d is more than 1/128 of %d", i, w, lo)
		}
		next = lo + w
	}
}

func TestFixedMemory(t *testing.T) {
	if size := unsafe.Sizeof(Histogram{}); size > 32<<10 {
		t.Fatalf("Histogram is %d bytes, want at most 32 KiB", size)
	}
	h := New()
	allocs := testing.AllocsPerRun(100, func() { h.Record(int64(time.Millisecond)) })
	if allocs != 0 {
		t.Fatalf("Record allocates %v times", allocs)
	}
}

func TestQuantileAgainstExact(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, dist := range []struct {
		name string
		gen  func() int64
	}{
		// Log-uniform over the whole promised range, 1 µs .. 60 s.
		{"log-uniform", func() int64 {
			return int64(math.Exp(math.Log(1e3) + rng.Float64()*(math.Log(6e10)-math.Log(1e3))))
		}},
		// A typical latency shape: 100 µs ± a long exponential tail.
		{"latency", func() int64 { return 100_000 + int64(rng.ExpFloat64()*50_000) }},
		// Few distinct values.
		{"discrete", func() int64 { return []int64{1_000, 2_000, 5_000_000}[rng.IntN(3)] }},
	} {
		t.Run("dist="+dist.name, func(t *testing.T) {
			h := New()
			sample := make([]int64, 50_000)
			for i := range sample {
				sample[i] = dist.gen()
				h.Record(sample[i])
			}
			slices.Sort(sample)
			for _, q := range []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
				want := exactQuantile(sample, q)
				got := h.Quantile(q)
				if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.01 {
					t.Errorf("q=%v: got %d, exact %d (%.2f%% off)", q, got, want, 100*rel)
				}
			}
			if h.Min() != sample[0] || h.Max() != sample[len(sample)-1] {
				t.Errorf("min/max = %d/%d, want %d/%d", h.Min(), h.Max(), sample[0], sample[len(sample)-1])
			}
		})
	}
}

func TestSmallSamples(t *testing.T) {
	f := func(values []int64, q float64, want int64) {
		t.Helper()
		h := New()
		for _, v := range values {
			h.Record(v)
		}
		if got := h.Quantile(q); got != want {
			t.Errorf("Quantile(%v) of %v = %d, want %d", q, values, got, want)
		}
	}
	f(nil, 0.5, 0)
	f([]int64{42}, 0, 42)
	f([]int64{42}, 0.99, 42)
	f([]int64{1, 2, 3, 4}, 0.5, 2)
	f([]int64{1, 2, 3, 4}, 0.75, 3)
	f([]int64{1, 2, 3, 4}, 1, 4)
	f([]int64{-5, 7}, 0, 0) // negative counts as 0
}

func TestOverflow(t *testing.T) {
	h := New()
	h.Record(int64(2 * time.Minute))
	h.Record(int64(time.Millisecond))
	if h.Overflow() != 1 || h.Max() != int64(2*time.Minute) {
		t.Fatalf("overflow %d, max %d", h.Overflow(), h.Max())
	}
	if got := h.Quantile(0.99); got != int64(2*time.Minute) {
		t.Fatalf("p99 = %d, want the exact max", got)
	}
}

func TestMerge(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	all, a, b := New(), New(), New()
	for range 10_000 {
		v := int64(rng.ExpFloat64() * 1e6)
		all.Record(v)
		if rng.IntN(2) == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	empty := New()
	a.Merge(empty)
	empty.Merge(a)
	empty.Merge(b)
	a.Merge(b)
	for _, m := range []*Histogram{a, empty} {
		if m.counts != all.counts || m.n != all.n || m.min != all.min || m.max != all.max {
			t.Fatalf("merged histogram differs from the histogram of every value")
		}
		if math.Abs(m.Mean()-all.Mean()) > 1e-6*all.Mean() {
			t.Fatalf("mean %v, want %v", m.Mean(), all.Mean())
		}
	}
	a.Reset()
	if a.Count() != 0 || a.Quantile(0.5) != 0 {
		t.Fatal("Reset left values")
	}
}
