package client

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// BenchmarkPublisher measures the asynchronous publish path end to end
// against the fake node (which keeps no messages): encoding into batches,
// writing, and resolving the PUBLISH_ACKs. One op is one message.
func BenchmarkPublisher(b *testing.B) {
	for _, size := range []int{128, 1024} {
		for _, window := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("size=%dB/window=%d", size, window), func(b *testing.B) {
				benchPublisher(b, size, window, nil)
			})
		}
	}
}

// BenchmarkPublisherSealed is BenchmarkPublisher with a keyring: every
// payload is sealed (AES-256-GCM) on the publishing goroutine.
func BenchmarkPublisherSealed(b *testing.B) {
	kr := benchKeyring(b)
	for _, size := range []int{128, 1024} {
		for _, window := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("size=%dB/window=%d", size, window), func(b *testing.B) {
				benchPublisher(b, size, window, kr)
			})
		}
	}
}

func benchKeyring(b *testing.B) *seal.Keyring {
	kr, err := seal.NewKeyring(1, seal.Key{ID: 1, Secret: [32]byte{1, 2, 3}})
	if err != nil {
		b.Fatal(err)
	}
	return kr
}

func benchPublisher(b *testing.B, size, window int, kr *seal.Keyring) {
	s, err := clienttest.Start(clienttest.Options{Discard: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c, err := Dial(ctx, Options{Addr: s.Addr(), Keyring: kr})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p := mustPublisher(b, c, "bench", PublisherOptions{Window: window})
	payload := make([]byte, size)
	var failed atomic.Int64
	done := func(r PublishResult) {
		if r.Err != nil {
			failed.Add(1)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		if err := p.Publish(ctx, payload, done); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d messages failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	_ = p.Close(ctx)
}

// BenchmarkPublishSync measures one synchronous Publish of one message at
// a time: a round trip per op.
func BenchmarkPublishSync(b *testing.B) {
	s, err := clienttest.Start(clienttest.Options{Discard: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c, err := Dial(ctx, Options{Addr: s.Addr()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	payload := make([]byte, 128)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Publish(ctx, "bench", payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFetchDecode measures turning a MESSAGES frame of 100 messages
// into deliveries on the reader goroutine: CRC checks and copies, plus
// authentication and decryption with a keyring. One op is one frame.
func BenchmarkFetchDecode(b *testing.B) {
	kr := benchKeyring(b)
	for _, size := range []int{128, 1024} {
		for _, sealed := range []bool{false, true} {
			b.Run(fmt.Sprintf("size=%dB/sealed=%v", size, sealed), func(b *testing.B) {
				var open opener
				var sealer *seal.Sealer
				if sealed {
					open.kr = kr
					sealer, _ = seal.NewSealer(kr, nil)
				}
				open.dest = []byte("bench")
				f := benchMessages(b, sealer, size, 100)
				b.ReportAllocs()
				b.SetBytes(int64(size) * 100)
				for b.Loop() {
					fc := fetchCall{dest: "bench", group: "g", open: open}
					if err := fc.handle(f); err != nil || fc.out[99].Err != nil {
						b.Fatal(err, fc.out[99].Err)
					}
				}
				b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "msgs/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/msg")
			})
		}
	}
}

// benchMessages builds a MESSAGES frame of n messages of size bytes to
// "bench", sealed when sealer is not nil.
func benchMessages(b testing.TB, sealer *seal.Sealer, size, n int) frame.Frame {
	buf := frame.StartMessages(nil, 1)
	for i := range n {
		m := frame.Message{ID: [16]byte{byte(i)}, Timestamp: int64(i), Producer: 7, Payload: make([]byte, size)}
		if sealer != nil {
			m.KeyID = sealer.KeyID()
			h := seal.Header{ID: m.ID, Destination: []byte("bench"), Producer: 7, Timestamp: m.Timestamp, KeyID: m.KeyID}
			var err error
			if m.Payload, err = sealer.Seal(nil, h, m.Payload); err != nil {
				b.Fatal(err)
			}
		}
		buf = frame.AppendDelivery(buf, uint64(i+1), 1, frame.AppendMessage(nil, m))
	}
	frame.FinishMessages(buf, 0, uint32(n))
	f, _, err := frame.Decode(buf, 0)
	if err != nil {
		b.Fatal(err)
	}
	return f
}
