package client

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client/clienttest"
)

// TestPublishAllocs: an asynchronous Publish of a message without headers
// allocates nothing in steady state, counting every goroutine of the
// process (the Publisher's writer, the Client's reader, the fake node),
// with and without a hook that does not see messages before they are
// encoded.
func TestPublishAllocs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hooks []Hook
	}{{"no hooks", nil}, {"ack hook", []Hook{&ackCounter{}}}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := clienttest.Start(clienttest.Options{Discard: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			c, err := Dial(ctx, Options{Addr: s.Addr(), Hooks: tc.hooks})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p := mustPublisher(t, c, "allocs", PublisherOptions{Window: 1000})
			payload := make([]byte, 128)
			publish := func() {
				if err := p.Publish(ctx, payload, nil); err != nil {
					t.Fatal(err)
				}
			}
			for range 5000 { // warm the batch and buffer pools
				publish()
			}
			allocs := testing.AllocsPerRun(20000, publish)
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if allocs > 0.2 {
				t.Fatalf("%.2f allocations per Publish, want none in steady state", allocs)
			}
		})
	}
}

// ackCounter is a HookPublishAck that counts, allocating nothing itself.
type ackCounter struct{ n atomic.Int64 }

func (h *ackCounter) OnPublishAck(string, PublishResult, time.Duration) { h.n.Add(1) }

// TestFetchDecodeAllocs: turning a MESSAGES frame of 100 messages into
// deliveries allocates the payloads' arena, the deliveries and their
// batch, whatever the number of messages; the per-message settlement
// state waits for the first Ack, Nak, Term or InProgress of one of them.
func TestFetchDecodeAllocs(t *testing.T) {
	f := benchMessages(t, nil, 128, 100)
	var fc fetchCall
	allocs := testing.AllocsPerRun(100, func() {
		fc = fetchCall{dest: "bench", group: "g"}
		if err := fc.handle(f); err != nil || len(fc.out) != 100 {
			t.Fatalf("handle: %v, %d deliveries", err, len(fc.out))
		}
	})
	if allocs != 3 {
		t.Fatalf("%v allocations per MESSAGES frame of 100 messages, want 3", allocs)
	}
	if fc.out[0].b.settled != nil {
		t.Fatal("the settlement state was allocated before anything was settled")
	}
}
