package seal

import (
	"fmt"
	"testing"
)

// benchSizes are the plaintext sizes of the benchmarks (DESIGN.md targets
// are for 128-byte messages).
var benchSizes = []int{128, 1024}

// sink keeps results alive so the compiler cannot drop the work.
var sink []byte

// BenchmarkSeal measures sealing one payload into a reused buffer. One op
// is one message; bytes are plaintext bytes.
func BenchmarkSeal(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			kr := testKeyring(b, 1)
			s := testSealer(b, kr)
			h := testHeader(1)
			pt := make([]byte, size)
			buf := make([]byte, 0, size+Overhead+AADSize+len(h.Destination))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				var err error
				if buf, err = s.Seal(buf[:0], h, pt); err != nil {
					b.Fatal(err)
				}
			}
			sink = buf
			reportRate(b)
		})
	}
	b.Run("size=128/parallel", func(b *testing.B) {
		kr := testKeyring(b, 1)
		s := testSealer(b, kr)
		b.ReportAllocs()
		b.SetBytes(128)
		b.RunParallel(func(pb *testing.PB) {
			h := testHeader(1)
			pt := make([]byte, 128)
			buf := make([]byte, 0, 512)
			for pb.Next() {
				buf, _ = s.Seal(buf[:0], h, pt)
			}
		})
		reportRate(b)
	})
}

// BenchmarkOpen measures opening one sealed payload into a reused buffer.
func BenchmarkOpen(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			kr, h, sealed := benchSealed(b, size)
			buf := make([]byte, 0, size+AADSize+len(h.Destination))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				var err error
				if buf, err = kr.Open(buf[:0], h, sealed); err != nil {
					b.Fatal(err)
				}
			}
			sink = buf
			reportRate(b)
		})
	}
	// A dead-lettered message: the first attempt fails, the second opens.
	b.Run("size=128/dlq", func(b *testing.B) {
		kr, h, sealed := benchSealed(b, 128)
		h.Destination = []byte("test-queue.dlq")
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		b.SetBytes(128)
		for b.Loop() {
			var err error
			if buf, _, err = kr.OpenDelivery(buf[:0], h, sealed); err != nil {
				b.Fatal(err)
			}
		}
		sink = buf
		reportRate(b)
	})
}

// BenchmarkVerify measures the node's check of one sealed payload with a
// reused scratch buffer, and the same from both cores at once.
func BenchmarkVerify(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			kr, h, sealed := benchSealed(b, size)
			var scratch []byte
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				var err error
				if scratch, err = kr.Verify(scratch, h, sealed); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
	}
	b.Run("size=128/parallel", func(b *testing.B) {
		kr, h, sealed := benchSealed(b, 128)
		b.ReportAllocs()
		b.SetBytes(128)
		b.RunParallel(func(pb *testing.PB) {
			var scratch []byte
			for pb.Next() {
				scratch, _ = kr.Verify(scratch, h, sealed)
			}
		})
		reportRate(b)
	})
}

func benchSealed(b *testing.B, size int) (*Keyring, Header, []byte) {
	kr := testKeyring(b, 1, 2, 3)
	h := testHeader(3)
	sealed, err := testSealer(b, kr).Seal(nil, h, make([]byte, size))
	if err != nil {
		b.Fatal(err)
	}
	return kr, h, sealed
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
