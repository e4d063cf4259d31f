package peer

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// counter is a Handler that counts frames.
type counter struct{ n atomic.Int64 }

func (c *counter) HandleFrame(string, frame.Type, []byte)        { c.n.Add(1) }
func (c *counter) HandleRequest(_ string, p []byte, r Responder) { _ = r.Reply(p) }

// BenchmarkSend sends RAFT frames from node-1 to node-2 over loopback as
// fast as Send takes them, and reports the frames that arrived per second
// and the share dropped because the queue was full.
func BenchmarkSend(b *testing.B) {
	for _, size := range []int{128, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			ln1, ln2 := listen(b), listen(b)
			peers := map[string]string{"node-1": ln1.Addr().String(), "node-2": ln2.Addr().String()}
			recv := &counter{}
			o1, o2 := testOptions("node-1", ln1, peers), testOptions("node-2", ln2, peers)
			o1.Handler, o2.Handler = &counter{}, recv
			t1, t2 := mustStart(b, o1), mustStart(b, o2)
			defer func() { _ = t1.Close(); _ = t2.Close() }()
			eventually(b, "link up", func() bool {
				return t1.Send("node-2", frame.TypeRaft, nil) == nil && recv.n.Load() > 0
			})
			payload := make([]byte, size)
			b.SetBytes(int64(size + frame.HeaderSize))
			b.ReportAllocs()
			start, dropped := recv.n.Load(), 0
			b.ResetTimer()
			began := time.Now()
			for range b.N {
				if t1.Send("node-2", frame.TypeRaft, payload) != nil {
					dropped++
				}
			}
			want := start + int64(b.N-dropped)
			eventually(b, "every frame sent received", func() bool { return recv.n.Load() >= want })
			b.StopTimer()
			b.ReportMetric(float64(b.N-dropped)/time.Since(began).Seconds(), "frames/s")
			b.ReportMetric(100*float64(dropped)/float64(b.N), "%dropped")
		})
	}
}

// BenchmarkCall measures one request and its answer at a time.
func BenchmarkCall(b *testing.B) {
	ln1, ln2 := listen(b), listen(b)
	peers := map[string]string{"node-1": ln1.Addr().String(), "node-2": ln2.Addr().String()}
	o1, o2 := testOptions("node-1", ln1, peers), testOptions("node-2", ln2, peers)
	o1.Handler, o2.Handler = &counter{}, &counter{}
	t1, t2 := mustStart(b, o1), mustStart(b, o2)
	defer func() { _ = t1.Close(); _ = t2.Close() }()
	payload := make([]byte, 128)
	eventually(b, "link up", func() bool {
		_, err := t1.Call(b.Context(), "node-2", payload)
		return err == nil
	})
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := t1.Call(b.Context(), "node-2", payload); err != nil {
			b.Fatal(err)
		}
	}
}

func mustStart(b *testing.B, o Options) *Transport {
	t, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	if err := t.Start(); err != nil {
		b.Fatal(err)
	}
	return t
}
