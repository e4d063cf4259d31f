package frame

import (
	"fmt"
	"testing"
)

// benchBatch is the number of messages per frame in the benchmarks.
const benchBatch = 100

var benchSizes = []struct {
	name string
	size int
}{{"128", 128}, {"1KiB", 1024}}

// sink keeps results alive so the compiler cannot drop the work.
var sink int

// reportMsgs adds msgs/s: iterations × messages per iteration over the
// elapsed time.
func reportMsgs(b *testing.B, iters int) {
	b.ReportMetric(float64(iters*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDecode measures the server's read path for one PUBLISH frame of
// 100 messages: Decode, DecodePublish and iterating every message.
func BenchmarkDecode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run("size="+s.name, func(b *testing.B) {
			in := publishFrame(benchBatch, s.size)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			iters := 0
			for b.Loop() {
				f, _, err := Decode(in, 0)
				if err != nil {
					b.Fatal(err)
				}
				p, err := DecodePublish(f.Body, 0)
				if err != nil {
					b.Fatal(err)
				}
				for m, _, ok := p.Next(); ok; m, _, ok = p.Next() {
					sink += len(m.Payload)
				}
				iters++
			}
			reportMsgs(b, iters)
		})
	}
}

// BenchmarkVerify measures the CRC-32C check of 100 messages.
func BenchmarkVerify(b *testing.B) {
	for _, s := range benchSizes {
		b.Run("size="+s.name, func(b *testing.B) {
			f, _, _ := Decode(publishFrame(benchBatch, s.size), 0)
			p, _ := DecodePublish(f.Body, 0)
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Raw)))
			iters := 0
			for b.Loop() {
				p.Reset()
				for m, _, ok := p.Next(); ok; m, _, ok = p.Next() {
					if !m.Verify() {
						b.Fatal("bad CRC")
					}
				}
				iters++
			}
			reportMsgs(b, iters)
		})
	}
}

// BenchmarkAppendPublish measures a client building a PUBLISH frame of 100
// messages into a reused buffer.
func BenchmarkAppendPublish(b *testing.B) {
	for _, s := range benchSizes {
		b.Run("size="+s.name, func(b *testing.B) {
			m := testMessage(string(make([]byte, s.size)))
			dest := []byte("bench-queue")
			buf := make([]byte, 0, benchBatch*(m.Size()+64))
			b.ReportAllocs()
			b.SetBytes(int64(len(publishFrame(benchBatch, s.size))))
			iters := 0
			for b.Loop() {
				buf = StartPublish(buf[:0], 1, dest)
				for range benchBatch {
					buf = AppendMessage(buf, m)
				}
				FinishPublish(buf, 0, benchBatch)
				iters++
			}
			sink += len(buf)
			reportMsgs(b, iters)
		})
	}
}

// BenchmarkDecodeMessages measures a consumer's read path for one MESSAGES
// frame of 100 deliveries.
func BenchmarkDecodeMessages(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("size=%s", s.name), func(b *testing.B) {
			raw := AppendMessage(nil, testMessage(string(make([]byte, s.size))))
			in := StartMessages(nil, 1)
			for i := range benchBatch {
				in = AppendDelivery(in, uint64(i), 1, raw)
			}
			FinishMessages(in, 0, benchBatch)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			iters := 0
			for b.Loop() {
				f, _, _ := Decode(in, 0)
				ms, err := DecodeMessages(f.Body)
				if err != nil {
					b.Fatal(err)
				}
				for d, ok := ms.Next(); ok; d, ok = ms.Next() {
					sink += int(d.Seq)
				}
				iters++
			}
			reportMsgs(b, iters)
		})
	}
}
