package hist

import (
	"math"
	"math/bits"
	"time"
)

const (
	// subBits is log2 of the buckets per power of two.
	subBits = 7
	// subCount is the number of buckets per power of two.
	subCount = 1 << subBits
	// Max is the largest value tracked exactly to 1%, in nanoseconds (60 s);
	// larger values are counted as Max.
	Max = int64(60 * time.Second)
	// maxExp is floor(log2(Max)): the highest power of two with buckets
	// (a test checks it against Max).
	maxExp = 35
	// Buckets is the fixed number of counters of a Histogram.
	Buckets = (maxExp-subBits)*subCount + 2*subCount
)

// Histogram counts values (nanoseconds) in log-linear buckets. The zero
// value is empty and ready to use. It is not safe for concurrent use.
type Histogram struct {
	counts   [Buckets]uint64
	n        uint64
	overflow uint64
	min, max int64
	sum      float64
}

// New returns an empty Histogram.
func New() *Histogram { return &Histogram{} }

// index returns the bucket of v, 0 <= v <= Max.
func index(v int64) int {
	if v < subCount {
		return int(v)
	}
	m := bits.Len64(uint64(v)) - 1
	return (m-subBits)*subCount + int(v>>(m-subBits))
}

// bounds returns the lowest value of bucket i and the bucket's width.
func bounds(i int) (lo, width int64) {
	if i < 2*subCount {
		return int64(i), 1
	}
	shift := i/subCount - 1 // m - subBits
	return int64(i-shift*subCount) << shift, 1 << shift
}

// Record counts v nanoseconds. Negative values count as 0; values above Max
// count as Max (and in Overflow), but Max() still returns the exact value.
func (h *Histogram) Record(v int64) {
	v = max(v, 0)
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
	if v > Max {
		h.overflow++
		v = Max
	}
	h.counts[index(v)]++
}

// RecordDuration counts d.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds every value counted by o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.overflow += o.overflow
	h.sum += o.sum
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Overflow returns the number of values recorded above Max.
func (h *Histogram) Overflow() uint64 { return h.overflow }

// Min returns the smallest value recorded, exactly (0 when empty).
func (h *Histogram) Min() int64 { return h.min }

// Max returns the largest value recorded, exactly (0 when empty).
func (h *Histogram) Max() int64 { return h.max }

// Mean returns the mean of the values recorded (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q (0 <= q <= 1) by nearest rank:
// the value whose rank is ceil(q·Count), within 0.4% (the midpoint of its
// bucket, kept within [Min, Max]). Quantile(0) is Min and Quantile(1) is
// Max, exactly. It returns 0 when h is empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	switch {
	case rank <= 1 && q <= 0:
		return h.min
	case rank >= h.n:
		return h.max
	case rank < 1:
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bounds(i)
			return min(max(lo+(w-1)/2, h.min), h.max)
		}
	}
	return h.max // not reached: the counts add up to n
}
