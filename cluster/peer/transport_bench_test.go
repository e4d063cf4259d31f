package peer

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// counter is a Handler that counts frames and signals step every 64.
type counter struct {
	n    atomic.Int64
	step chan struct{}
}

func newCounter() *counter { return &counter{step: make(chan struct{}, 1)} }

func (c *counter) HandleFrame(string, frame.Type, []byte) {
	if c.n.Add(1)%64 == 0 {
		select {
		case c.step <- struct{}{}:
		default:
		}
	}
}

func (c *counter) HandleRequest(_ string, p []byte, r Responder) { _ = r.Reply(p) }

// BenchmarkSend sends RAFT frames from node-1 to node-2 over loopback and
// reports the frames that arrived per second and the share dropped because
// the queue was full. window=0 sends as fast as Send returns (the sender
// outruns the link, so most frames are dropped); window=4MiB keeps at most
// 4 MiB of frames sent and not yet received (half the queue), as raft's
// inflight limits do.
func BenchmarkSend(b *testing.B) {
	for _, window := range []int{0, 4 << 20} {
		for _, size := range []int{128, 1024, 16 << 10} {
			name := fmt.Sprintf("window=%dMiB/size=%d", window>>20, size)
			b.Run(name, func(b *testing.B) { benchSend(b, window/(size+frame.HeaderSize), size) })
		}
	}
}

// benchSend sends b.N frames of size bytes, at most window (0: no limit)
// of them sent and not yet received.
func benchSend(b *testing.B, window, size int) {
	t1, recv := benchPair(b)
	eventually(b, "link up", func() bool {
		return t1.Send("node-2", frame.TypeRaft, nil) == nil && recv.n.Load() > 0
	})
	payload := make([]byte, size)
	b.SetBytes(int64(size + frame.HeaderSize))
	b.ReportAllocs()
	start, dropped := recv.n.Load(), 0
	b.ResetTimer()
	began := time.Now()
	for i := range b.N {
		for window > 0 && int64(i-dropped)-(recv.n.Load()-start) > int64(window) {
			<-recv.step
		}
		if t1.Send("node-2", frame.TypeRaft, payload) != nil {
			dropped++
		}
	}
	want := start + int64(b.N-dropped)
	eventually(b, "every frame sent received", func() bool { return recv.n.Load() >= want })
	b.StopTimer()
	b.ReportMetric(float64(b.N-dropped)/time.Since(began).Seconds(), "frames/s")
	b.ReportMetric(100*float64(dropped)/float64(b.N), "%dropped")
}

// BenchmarkCall measures one request and its answer at a time.
func BenchmarkCall(b *testing.B) {
	t1, _ := benchPair(b)
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

// benchPair starts node-1 and node-2 and returns node-1's transport and
// node-2's counter; both close when b ends.
func benchPair(b *testing.B) (*Transport, *counter) {
	ln1, ln2 := listen(b), listen(b)
	peers := map[string]string{"node-1": ln1.Addr().String(), "node-2": ln2.Addr().String()}
	recv := newCounter()
	o1, o2 := testOptions("node-1", ln1, peers), testOptions("node-2", ln2, peers)
	o1.Handler, o2.Handler = newCounter(), recv
	t1, t2 := mustStart(b, o1), mustStart(b, o2)
	b.Cleanup(func() { _ = t1.Close(); _ = t2.Close() })
	return t1, recv
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
