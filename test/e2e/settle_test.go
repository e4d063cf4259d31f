package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// consumeUntil runs Consume on dest for group with handle until done
// reports true after a batch, and fails the test if Consume fails.
func consumeUntil(t *testing.T, c *client.Client, dest, group string, handle func(d client.Delivery) error,
	done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	err := c.Consume(ctx, dest, group, client.ConsumeOptions{Batch: 100, Wait: 100 * time.Millisecond},
		func(ctx context.Context, ds []client.Delivery) error {
			for _, d := range ds {
				if err := handle(d); err != nil {
					return err
				}
			}
			if done() {
				cancel()
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}

// A handler that fails one message of a batch of 100 settles only that
// one: the other 99 are handled once and acked once, and the bad one is
// retried alone (Nak) until max_deliver moves it, alone, to the
// dead-letter destination.
func TestConsumeNakOneOfBatch(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) {
		o.Queue.AckTimeout = 300 * time.Millisecond
		o.Queue.MaxDeliver = 3
	})
	c := dial(t, n)
	publishN(t, c, "jobs", "m", 100)

	var mu sync.Mutex
	seen := map[string]int{}
	consumeUntil(t, c, "jobs", "workers", func(d client.Delivery) error {
		mu.Lock()
		seen[string(d.Payload)]++
		mu.Unlock()
		if string(d.Payload) == "m-42" {
			return d.Nak(ctxT(t), 0)
		}
		return nil // acked with the batch
	}, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 100 && seen["m-42"] == 3
	})
	for p, k := range seen {
		if want := map[bool]int{true: 3, false: 1}[p == "m-42"]; k != want {
			t.Errorf("%s handled %d times, want %d", p, k, want)
		}
	}
	// Well past the ack timeout: nothing comes back, and only m-42 was
	// dead-lettered.
	if ds := drainAfter(t, c, "jobs", "workers", time.Second); len(ds) != 0 {
		t.Fatalf("%d deliveries after the batch was settled, first seq %d", len(ds), ds[0].Seq)
	}
	if got := metricValue(t, n, "swarmmq_acked_messages_total"); got != 99 {
		t.Errorf("acked %v messages, want 99 (each once)", got)
	}
	dlq := drain(t, c, "jobs.dlq", "ops", true)
	if len(dlq) != 1 || string(dlq[0].Payload) != "m-42" {
		t.Fatalf("dead-lettered %d messages, want m-42 alone", len(dlq))
	}
}

// Term settles one message for good at once: it is not retried, the other
// 99 are acked once, and the dead-letter copy carries the reason.
func TestConsumeTermOneOfBatch(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) {
		o.Queue.AckTimeout = 300 * time.Millisecond
	})
	c := dial(t, n)
	publishN(t, c, "jobs", "m", 100)

	var mu sync.Mutex
	seen := map[string]int{}
	consumeUntil(t, c, "jobs", "workers", func(d client.Delivery) error {
		mu.Lock()
		seen[string(d.Payload)]++
		mu.Unlock()
		if string(d.Payload) == "m-7" {
			if err := d.Term(ctxT(t), "cannot parse"); err != nil {
				return err
			}
			if err := d.Ack(ctxT(t)); !errors.Is(err, client.ErrSettled) {
				return fmt.Errorf("a second settlement: %v, want ErrSettled", err)
			}
		}
		return nil
	}, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 100
	})
	if ds := drainAfter(t, c, "jobs", "workers", time.Second); len(ds) != 0 {
		t.Fatalf("%d deliveries after the batch was settled", len(ds))
	}
	for p, k := range seen {
		if k != 1 {
			t.Errorf("%s handled %d times, want 1", p, k)
		}
	}
	if got := metricValue(t, n, "swarmmq_acked_messages_total"); got != 99 {
		t.Errorf("acked %v messages, want 99", got)
	}
	if got := metricValue(t, n, "swarmmq_fanout_terminated_total"); got != 1 {
		t.Errorf("terminated %v messages, want 1", got)
	}
	dlq := drain(t, c, "jobs.dlq", "ops", false)
	if len(dlq) != 1 || string(dlq[0].Payload) != "m-7" {
		t.Fatalf("dead-lettered %d messages, want m-7 alone", len(dlq))
	}
	m := inspectDLQ(t, n, "jobs.dlq", dlq[0].Seq)
	if m.DeadLetter == nil || m.DeadLetter.Reason != "terminated: cannot parse" || m.DeadLetter.Seq != 7 {
		t.Fatalf("dead-letter origin %+v, want terminated: cannot parse from seq 7", m.DeadLetter)
	}
}

// InProgress keeps a delivery from coming back while the consumer works
// on it past the ack timeout; without it the delivery comes back.
func TestFetchInProgress(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) {
		o.Queue.AckTimeout = 400 * time.Millisecond
	})
	c := dial(t, n)
	publishN(t, c, "jobs", "m", 1)
	ctx := ctxT(t)
	ds, err := c.Fetch(ctx, "jobs", "g", 1, time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("fetch: %d, %v", len(ds), err)
	}
	d := ds[0]
	deadline := time.Now().Add(1200 * time.Millisecond) // three ack timeouts
	for time.Now().Before(deadline) {
		if err := d.InProgress(ctx); err != nil {
			t.Fatal(err)
		}
		// Another member of the group asks meanwhile: nothing is due.
		if again, err := c.Fetch(ctx, "jobs", "g", 1, 150*time.Millisecond); err != nil || len(again) != 0 {
			t.Fatalf("redelivered while in progress: %d, %v", len(again), err)
		}
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.InProgress(ctx); !errors.Is(err, client.ErrSettled) {
		t.Fatalf("InProgress after Ack: %v, want ErrSettled", err)
	}
	if got := metricValue(t, n, "swarmmq_fanout_progress_total"); got < 2 {
		t.Fatalf("progress pushes %v, want several", got)
	}

	// A delivery given back (here by a NACK sent apart) is no longer held
	// for the consumer: its InProgress says so.
	publishN(t, c, "jobs", "n", 1)
	ds, err = c.Fetch(ctx, "jobs", "g", 1, time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("fetch: %d, %v", len(ds), err)
	}
	if err := c.Nack(ctx, "jobs", "g", time.Minute, ds[0].Seq); err != nil {
		t.Fatal(err)
	}
	if err := ds[0].InProgress(ctx); !errors.Is(err, client.ErrNotHeld) {
		t.Fatalf("InProgress of a delivery given back: %v, want ErrNotHeld", err)
	}
}

// inspectDLQ reads message seq of dest through the admin API.
func inspectDLQ(t *testing.T, n *nodetest.Node, dest string, seq uint64) adminapi.Message {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/v1/destinations/%s/messages/%d", n.HTTPAddr(), dest, seq))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var m adminapi.Message
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("message %d of %s: status %d, %v", seq, dest, resp.StatusCode, err)
	}
	return m
}

// drainAfter waits d, then fetches what is delivered (without acking).
func drainAfter(t *testing.T, c *client.Client, dest, group string, d time.Duration) []client.Delivery {
	t.Helper()
	ds, err := c.Fetch(ctxT(t), dest, group, 100, d)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// The node's answers to raw TERM and PROGRESS frames: a long reason is
// refused (BAD_REQUEST, not fatal), TERM is answered ACK_OK with its seq
// count, PROGRESS NACK_OK with the deliveries it pushed out.
func TestSettleFrames(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := dial(t, n)
	publishN(t, c, "q", "m", 3)
	if _, err := c.Fetch(ctxT(t), "q", "g", 2, time.Second); err != nil { // seqs 1 and 2 in flight
		t.Fatal(err)
	}
	r := nodetest.Handshake(t, n.AddrString())
	dest, group := []byte("q"), []byte("g")

	corr := r.NextCorr()
	r.Write(frame.AppendTerm(nil, corr, dest, group, make([]byte, frame.MaxTermReason+1), []uint64{1}))
	if f := r.Read(); f.Type != frame.TypeError || f.Corr != corr {
		t.Fatalf("long reason answered %s corr %d", f.Type, f.Corr)
	} else if code, _, _ := frame.DecodeError(f.Body); code != frame.CodeBadRequest {
		t.Fatalf("long reason: %s, want BAD_REQUEST", code)
	}

	corr = r.NextCorr()
	r.Write(frame.AppendProgress(nil, corr, dest, group, []uint64{1, 2, 3, 99}))
	f := r.Read()
	if got, err := frame.DecodeNackOK(f.Body); f.Type != frame.TypeNackOK || f.Corr != corr || err != nil || got != 2 {
		t.Fatalf("PROGRESS answered %s corr %d count %d (%v), want NACK_OK 2 (seqs 1 and 2 in flight)", f.Type, f.Corr, got, err)
	}

	corr = r.NextCorr()
	r.Write(frame.AppendTerm(nil, corr, dest, group, []byte("bad"), []uint64{1, 3}))
	f = r.Read()
	if got, err := frame.DecodeAckOK(f.Body); f.Type != frame.TypeAckOK || f.Corr != corr || err != nil || got != 2 {
		t.Fatalf("TERM answered %s corr %d count %d (%v), want ACK_OK 2", f.Type, f.Corr, got, err)
	}
	// Seq 3 was terminated before its first delivery (a TERM, like an
	// ACK, is the group's decision): only seq 2 is left, in flight.
	if ds := drainAfter(t, c, "q", "g", 300*time.Millisecond); len(ds) != 0 {
		t.Fatalf("%d deliveries, want none (seq 2 is in flight)", len(ds))
	}
	dlq := drain(t, c, "q.dlq", "ops", false)
	if len(dlq) != 2 || string(dlq[0].Payload) != "m-1" || string(dlq[1].Payload) != "m-3" {
		t.Fatalf("dead-lettered %d messages, want m-1 and m-3", len(dlq))
	}
}
