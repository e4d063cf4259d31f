package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// BenchmarkConsume measures client.Consume against an in-process node with
// fsync always: each op is one message handled and acked, from a backlog
// published beforehand. AckWindow 1 settles each batch before the next
// fetch (one fsync per batch on the critical path); larger windows fetch
// on while acks wait for their fsync.
func BenchmarkConsume(b *testing.B) {
	for _, window := range []int{1, 4} {
		b.Run(fmt.Sprintf("ack-window=%d", window), func(b *testing.B) {
			n := nodetest.Start(b, nil)
			c, err := client.Dial(context.Background(), client.Options{Addr: n.AddrString()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			p, err := c.NewPublisher("bench", client.PublisherOptions{Window: 4000})
			if err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 128)
			ctx := context.Background()
			for range b.N {
				if err := p.Publish(ctx, payload, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Close(ctx); err != nil {
				b.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			handled := 0
			b.ResetTimer()
			err = c.Consume(cctx, "bench", "g", client.ConsumeOptions{Batch: 100, Wait: time.Second, AckWindow: window},
				func(_ context.Context, ds []client.Delivery) error {
					if handled += len(ds); handled >= b.N {
						cancel()
					}
					return nil
				})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
