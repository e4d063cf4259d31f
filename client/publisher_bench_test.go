package client

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/swarmmq/swarmmq/client/clienttest"
)

// BenchmarkPublisher measures the asynchronous publish path end to end
// against the fake node (which keeps no messages): encoding into batches,
// writing, and resolving the PUBLISH_ACKs. One op is one message.
func BenchmarkPublisher(b *testing.B) {
	for _, size := range []int{128, 1024} {
		for _, window := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("size=%dB/window=%d", size, window), func(b *testing.B) {
				benchPublisher(b, size, window)
			})
		}
	}
}

func benchPublisher(b *testing.B, size, window int) {
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
	p := c.NewPublisher("bench", PublisherOptions{Window: window})
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
