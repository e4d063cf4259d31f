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
// id is new, the dedupe window is full (DefaultDedupeMax) and MaxAge drops
// old batches so memory stays flat.
func BenchmarkApply(b *testing.B) {
	for _, bc := range []struct{ batch, size int }{{100, 128}, {1, 128}} {
		b.Run(fmt.Sprintf("batch=%d,size=%d", bc.batch, bc.size), func(b *testing.B) {
			p, err := New(0, Options{MaxAge: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			raw, idOffs := benchRaw(bc.batch, bc.size)
			r := Record{Type: RecordMessages, Dest: []byte("bench"), Count: uint32(bc.batch), Raw: raw}
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
