package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// TestCrashLosesNoAckedMessage publishes into a real node process, kills it
// with SIGKILL mid-stream, restarts it on the same data and consumes: every
// acknowledged message is there, none is there twice.
func TestCrashLosesNoAckedMessage(t *testing.T) {
	const wantAcked = 3000
	dir := t.TempDir()
	p := startProc(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: p.addr, NoReconnect: true, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var mu sync.Mutex
	acked := map[string]bool{}
	enough := make(chan struct{})
	pub, err := c.NewPublisher("crash", client.PublisherOptions{Window: 512})
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 100*wantAcked; i++ {
			payload := fmt.Sprintf("c-%d", i)
			err := pub.Publish(ctx, []byte(payload), func(r client.PublishResult) {
				if r.Err != nil {
					return
				}
				mu.Lock()
				acked[payload] = true
				if len(acked) == wantAcked {
					close(enough)
				}
				mu.Unlock()
			})
			if err != nil {
				return // the node is gone
			}
			published = i
		}
	}()
	select {
	case <-enough:
	case <-done:
		t.Fatal("publisher stopped before the crash")
	case <-ctx.Done():
		t.Fatal("too slow to ack enough messages")
	}
	p.kill() // SIGKILL while messages are in flight
	<-done
	_ = pub.Close(ctx)
	mu.Lock()
	ackedAtCrash := len(acked)
	mu.Unlock()

	p2 := startProc(t, dir)
	c2, err := client.Dial(ctx, client.Options{Addr: p2.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	seen := map[string]int{}
	for {
		ds, err := c2.Fetch(ctx, "crash", "check", 1000, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			seen[string(d.Payload)]++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for payload := range acked {
		if seen[payload] == 0 {
			missing++
		}
	}
	for payload, k := range seen {
		if k > 1 {
			t.Errorf("%s stored %d times", payload, k)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages lost in the crash", missing, len(acked))
	}
	t.Logf("published %d, acked %d before SIGKILL, %d after the callbacks drained; %d stored after restart",
		published, ackedAtCrash, len(acked), len(seen))
	p2.stop(t)
}
