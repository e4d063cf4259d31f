package e2e

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
	"github.com/swarmmq/swarmmq/wal"
)

// BenchmarkPublishPipeline sends PUBLISH frames of 256 new 128-byte
// messages over a raw connection to an in-process node and waits for each
// PUBLISH_ACK, reporting the allocations of the whole process (node and
// raw client) per message: the decode → verify → dedupe → route → persist
// → fanout → ack path in steady state. fsync interval keeps the disk out
// of the loop.
func BenchmarkPublishPipeline(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int64
	}{{"cache", 0}, {"no-cache", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			n := nodetest.Start(b, func(o *stages.Options) {
				o.Sync, o.SyncInterval = wal.SyncInterval, 50*time.Millisecond
				o.MessageCache = bc.cache
			})
			r := nodetest.Handshake(b, n.AddrString())
			const batch = 256
			msgs := make([]frame.Message, batch)
			payload := make([]byte, 128)
			for i := range msgs {
				msgs[i] = frame.Message{Timestamp: 1, Producer: 7, Payload: payload}
				copy(msgs[i].ID[:8], "pipebnch")
			}
			dest := []byte("bench")
			var buf []byte
			next := uint64(0)
			publish := func() {
				for i := range msgs {
					next++
					binary.BigEndian.PutUint64(msgs[i].ID[8:], next)
				}
				corr := r.NextCorr()
				buf = frame.AppendPublish(buf[:0], corr, dest, msgs)
				r.Write(buf)
				if f := r.Read(); f.Type != frame.TypePublishAck || f.Corr != corr {
					b.Fatalf("publish answered %s corr %d", f.Type, f.Corr)
				}
			}
			for range 200 {
				publish() // warm up: rings, pools, the window's tables
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				publish()
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*batch), "allocs/msg")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*batch), "B/msg")
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
