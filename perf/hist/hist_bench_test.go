package hist

import "testing"

// sink keeps results alive.
var sink int64

func BenchmarkRecord(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(8)
	h := New()
	for i := range b.N {
		h.Record(int64(i&0xfffff) * 1000)
	}
	sink = h.Max()
}

func BenchmarkQuantile(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(8)
	h := New()
	for i := range 100_000 {
		h.Record(int64(i) * 1000)
	}
	b.ResetTimer()
	for range b.N {
		sink = h.Quantile(0.99)
	}
}
