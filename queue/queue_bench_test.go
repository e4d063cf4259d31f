package queue

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// Package-level sinks keep results alive.
var (
	sinkResults []Result
	sinkDeliv   []Delivery
)

// benchRaw returns n messages with size-byte payloads and the offsets of
// their ids, so a benchmark can give every batch fresh ids.
func benchRaw(n, size int) (raw []byte, idOffs []int) {
	payload := make([]byte, size)
	for i := 0; i < n; i++ {
		idOffs = append(idOffs, len(raw))
		raw = appendTestMsg(raw, [16]byte{}, 0, payload)
	}
	return raw, idOffs
}

// renumber writes unique ids (batch, i) into raw.
func renumber(raw []byte, idOffs []int, batch int) {
	for i, off := range idOffs {
		binary.BigEndian.PutUint64(raw[off:], uint64(batch))
		binary.BigEndian.PutUint64(raw[off+8:], uint64(i))
	}
}

// BenchmarkApply measures storing publish batches in steady state: every
// id is new, the dedupe window is full (DefaultDedupeMax, or the producer
// session's window) and MaxAge drops old batches so memory stays flat.
func BenchmarkApply(b *testing.B) {
	for _, bc := range []struct {
		batch, size int
		typ         RecordType
	}{{100, 128, RecordMessages}, {1, 128, RecordMessages}, {100, 128, RecordSessionMessages}, {1, 128, RecordSessionMessages}} {
		b.Run(fmt.Sprintf("%s/batch=%d,size=%d", bc.typ, bc.batch, bc.size), func(b *testing.B) {
			p, err := New(0, Options{MaxAge: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			raw, idOffs := benchRaw(bc.batch, bc.size)
			r := Record{Type: bc.typ, Dest: []byte("bench"), Count: uint32(bc.batch), Raw: raw}
			res := make([]Result, 0, bc.batch)
			b.ReportAllocs()
			b.SetBytes(int64(bc.batch * bc.size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				renumber(raw, idOffs, i)
				r.Time = int64(i) * int64(time.Millisecond)
				if res, err = p.Apply(uint64(i+1), &r, res[:0]); err != nil {
					b.Fatal(err)
				}
			}
			sinkResults = res
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkDeliverAck measures the consume cycle of one group: store a
// batch, deliver it, apply the ack record.
func BenchmarkDeliverAck(b *testing.B) {
	const batch, size = 100, 128
	b.Run(fmt.Sprintf("batch=%d,size=%d", batch, size), func(b *testing.B) {
		p, err := New(0, Options{})
		if err != nil {
			b.Fatal(err)
		}
		idx := uint64(1)
		gc := Record{Type: RecordGroupCreate, Dest: []byte("bench"), Group: []byte("g")}
		if _, err := p.Apply(idx, &gc, nil); err != nil {
			b.Fatal(err)
		}
		raw, idOffs := benchRaw(batch, size)
		pub := Record{Type: RecordMessages, Dest: []byte("bench"), Count: batch, Raw: raw}
		ack := Record{Type: RecordAck, Dest: []byte("bench"), Group: []byte("g"), Seqs: make([]uint64, batch)}
		res := make([]Result, 0, batch)
		deliv := make([]Delivery, 0, batch)
		b.ReportAllocs()
		b.SetBytes(batch * size)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			now := int64(i) * int64(time.Millisecond)
			renumber(raw, idOffs, i)
			pub.Time, ack.Time = now, now
			idx++
			if res, err = p.Apply(idx, &pub, res[:0]); err != nil {
				b.Fatal(err)
			}
			if deliv, err = p.Deliver(pub.Dest, ack.Group, batch, now, deliv[:0]); err != nil || len(deliv) != batch {
				b.Fatalf("delivered %d: %v", len(deliv), err)
			}
			for j, d := range deliv {
				ack.Seqs[j] = d.Seq
			}
			idx++
			if res, err = p.Apply(idx, &ack, res[:0]); err != nil {
				b.Fatal(err)
			}
		}
		sinkResults, sinkDeliv = res, deliv
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkSnapshot measures encoding a partition whose dedupe window is
// full (DefaultDedupeMax ids) and which retains none or all of them: the pause
// the fanout worker takes for a snapshot, into a new buffer or a reused one.
func BenchmarkSnapshot(b *testing.B) {
	for _, msgs := range []int{0, DefaultDedupeMax} {
		b.Run(fmt.Sprintf("window=%d,retained=%d", DefaultDedupeMax, msgs), func(b *testing.B) {
			p, err := New(0, Options{})
			if err != nil {
				b.Fatal(err)
			}
			const batch = 256
			raw, idOffs := benchRaw(batch, 128)
			r := Record{Type: RecordMessages, Dest: []byte("bench"), Count: batch, Raw: raw}
			idx := uint64(0)
			for n := 0; n < DefaultDedupeMax; n += batch {
				renumber(raw, idOffs, n)
				idx++
				if _, err := p.Apply(idx, &r, nil); err != nil {
					b.Fatal(err)
				}
			}
			if msgs == 0 {
				// A group that acked everything: nothing retained.
				gc := Record{Type: RecordGroupCreate, Dest: []byte("bench"), Group: []byte("g")}
				idx++
				if _, err := p.Apply(idx, &gc, nil); err != nil {
					b.Fatal(err)
				}
				seqs := make([]uint64, 0, DefaultDedupeMax)
				for s := uint64(1); s <= DefaultDedupeMax; s++ {
					seqs = append(seqs, s)
				}
				ack := Record{Type: RecordAck, Dest: []byte("bench"), Group: []byte("g"), Seqs: seqs}
				idx++
				if _, err := p.Apply(idx, &ack, nil); err != nil {
					b.Fatal(err)
				}
			}
			for _, reuse := range []bool{false, true} {
				b.Run(fmt.Sprintf("reuse=%v", reuse), func(b *testing.B) {
					var buf []byte
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						if !reuse {
							buf = nil
						}
						buf = p.Snapshot(buf[:0])
					}
					b.ReportMetric(float64(len(buf)), "bytes")
				})
			}
		})
	}
}
