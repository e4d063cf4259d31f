package fanout

import (
	"fmt"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/work"
)

// benchWorker is a worker with only what the live figures use.
func benchWorker() *worker {
	s := &Stage{deps: Deps{Now: func() int64 { return time.Now().UnixNano() }}, opts: Options{MemberIdle: DefaultMemberIdle}}
	return &worker{s: s, pub: map[string]*pubRate{}, members: map[string]map[string]*groupMembers{}}
}

// BenchmarkCountPublished is the cost added to applying one PUBLISH
// record of batch messages, all stored.
func BenchmarkCountPublished(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			w := benchWorker()
			msgs := make([]frame.Message, batch)
			rec := &queue.Record{Type: queue.RecordMessages, Dest: []byte("orders"), Count: uint32(batch)}
			for i := range msgs {
				rec.Raw = frame.AppendMessage(rec.Raw, msgs[i])
			}
			res := make([]queue.Result, batch)
			b.ReportAllocs()
			b.SetBytes(int64(len(rec.Raw)))
			for b.Loop() {
				w.countPublished(rec, res)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
		})
	}
}

// BenchmarkMembersNoteFetch is the cost member tracking adds to one
// FETCH answered with batch messages (the holder itself is a field of the
// partition's in-flight entry: queue.Partition.DeliverTo).
func BenchmarkMembersNoteFetch(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			w := benchWorker()
			c := newIDConn(1, "bench")
			r := work.NewRequest(work.KindFetch, netio.Inbound{})
			r.Conn, r.Dest, r.Group = c, []byte("orders"), []byte("billing")
			b.ReportAllocs()
			b.SetBytes(int64(batch))
			for b.Loop() {
				w.noteFetch(r, 1)
				_ = memberKey(r)
				w.noteDelivered(r, batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
		})
	}
}
