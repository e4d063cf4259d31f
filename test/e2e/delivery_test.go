package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
	"github.com/swarmmq/swarmmq/wal"
)

func dial(t *testing.T, n *nodetest.Node) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), ClientID: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// publishN publishes payloads "<prefix>-<i>" through the batched publisher.
func publishN(t *testing.T, c *client.Client, dest, prefix string, n int) {
	t.Helper()
	ctx := ctxT(t)
	p, err := c.NewPublisher(dest, client.PublisherOptions{Window: 256})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var failed []error
	for i := 1; i <= n; i++ {
		err := p.Publish(ctx, []byte(fmt.Sprintf("%s-%d", prefix, i)), func(r client.PublishResult) {
			if r.Err != nil {
				mu.Lock()
				failed = append(failed, r.Err)
				mu.Unlock()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(failed) > 0 {
		t.Fatalf("%d publishes failed, first: %v", len(failed), failed[0])
	}
}

// drain fetches (and acks, if ack) until a fetch with wait returns nothing.
func drain(t *testing.T, c *client.Client, dest, group string, ack bool) []client.Delivery {
	t.Helper()
	ctx := ctxT(t)
	var all []client.Delivery
	for {
		ds, err := c.Fetch(ctx, dest, group, 100, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return all
		}
		all = append(all, ds...)
		if ack {
			seqs := make([]uint64, len(ds))
			for i, d := range ds {
				seqs[i] = d.Seq
			}
			if err := c.Ack(ctx, dest, group, seqs...); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func payloads(ds []client.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Payload)
	}
	return out
}

func TestPublishConsumeInOrder(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := dial(t, n)
	publishN(t, c, "orders", "m", 2000)
	got := drain(t, c, "orders", "g", true)
	if len(got) != 2000 {
		t.Fatalf("consumed %d of 2000", len(got))
	}
	for i, d := range got {
		if want := fmt.Sprintf("m-%d", i+1); string(d.Payload) != want || d.Seq != uint64(i+1) || d.Attempt != 1 {
			t.Fatalf("delivery %d = seq %d attempt %d %q, want seq %d %q", i, d.Seq, d.Attempt, d.Payload, i+1, want)
		}
	}
	if again := drain(t, c, "orders", "g", true); len(again) != 0 {
		t.Fatalf("acked messages delivered again: %v", payloads(again))
	}
}

func TestTwoGroupsAndCompetingConsumers(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := dial(t, n)
	// Both groups exist before the messages: a message every existing
	// group has acked is dropped, so a group created later would not see it.
	for _, g := range []string{"billing", "audit"} {
		if ds, err := c.Fetch(ctxT(t), "q", g, 1, 0); err != nil || len(ds) != 0 {
			t.Fatalf("create %s: %v %v", g, ds, err)
		}
	}
	publishN(t, c, "q", "x", 300)
	if got := drain(t, c, "q", "billing", true); len(got) != 300 {
		t.Fatalf("group billing got %d of 300", len(got))
	}
	// Two consumers of one group: together exactly every message once.
	c1, c2 := dial(t, n), dial(t, n)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, cc := range []*client.Client{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t)
			for {
				ds, err := cc.Fetch(ctx, "q", "audit", 7, 200*time.Millisecond)
				if err != nil {
					t.Errorf("fetch: %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[string(d.Payload)]++
				}
				mu.Unlock()
				seqs := make([]uint64, len(ds))
				for i, d := range ds {
					seqs[i] = d.Seq
				}
				if err := cc.Ack(ctx, "q", "audit", seqs...); err != nil {
					t.Errorf("ack: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != 300 {
		t.Fatalf("group audit saw %d distinct of 300", len(seen))
	}
	for p, k := range seen {
		if k != 1 {
			t.Fatalf("%s delivered %d times to competing consumers", p, k)
		}
	}
}

// TestDedupe: the same message id published twice is stored once, the
// retry answered with the original seq, also after a restart (the window
// is rebuilt from the log).
func TestDedupe(t *testing.T) {
	n := nodetest.Start(t, nil)
	r := nodetest.Handshake(t, n.AddrString())
	first := publishRaw(t, r, "d", msg(1, "one"), msg(2, "two"))
	again := publishRaw(t, r, "d", msg(2, "two"), msg(3, "three"), msg(3, "three"))
	want := []frame.AckEntry{{Seq: 2, Flags: frame.FlagDuplicate}, {Seq: 3}, {Seq: 3, Flags: frame.FlagDuplicate}}
	if fmt.Sprint(first) != fmt.Sprint([]frame.AckEntry{{Seq: 1}, {Seq: 2}}) || fmt.Sprint(again) != fmt.Sprint(want) {
		t.Fatalf("acks %v then %v, want the retry answered as a duplicate of seq 2 and the in-batch repeat as one of seq 3", first, again)
	}
	n.Restart()
	r = nodetest.Handshake(t, n.AddrString())
	after := publishRaw(t, r, "d", msg(1, "one"))
	if after[0] != (frame.AckEntry{Seq: 1, Flags: frame.FlagDuplicate}) {
		t.Fatalf("retry after restart answered %+v", after[0])
	}
	if got := fetchRaw(t, r, "d", "g", 100); fmt.Sprint(got) != "[one two three]" {
		t.Fatalf("stored %v", got)
	}
}

// TestDedupeAfterSnapshot: retries are still recognised after a restart
// from a snapshot, when every message was acked and the log trimmed (the
// window's ids are read back from the records the snapshot keeps).
func TestDedupeAfterSnapshot(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.SnapshotEvery = 4 })
	r := nodetest.Handshake(t, n.AddrString())
	for i := 1; i <= 20; i++ {
		publishRaw(t, r, "w", msg(i, fmt.Sprint("m", i)))
	}
	c := dial(t, n)
	if got := drain(t, c, "w", "g", true); len(got) != 20 {
		t.Fatalf("drained %d messages, want 20", len(got))
	}
	// A snapshot taken after the acks: publish more records, wait for it.
	before := metricValue(t, n, "swarmmq_fanout_snapshots_total")
	for i := 21; i <= 28; i++ {
		publishRaw(t, r, "w", msg(i, fmt.Sprint("m", i)))
	}
	waitSnapshots(t, n, before)
	n.Restart()
	r = nodetest.Handshake(t, n.AddrString())
	got := publishRaw(t, r, "w", msg(1, "m1"), msg(20, "m20"), msg(28, "m28"), msg(29, "m29"))
	want := []frame.AckEntry{{Seq: 1, Flags: frame.FlagDuplicate}, {Seq: 20, Flags: frame.FlagDuplicate},
		{Seq: 28, Flags: frame.FlagDuplicate}, {Seq: 29}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("retries after restart answered %v, want %v", got, want)
	}
	c = dial(t, n)
	if got := payloads(drain(t, c, "w", "g", true)); !slices.Equal(got, []string{"m21", "m22", "m23", "m24", "m25", "m26", "m27", "m28", "m29"}) {
		t.Fatalf("after restart delivered %v, want m21..m29", got)
	}
}

// TestRedeliveryNackDeadLetter walks one message through redelivery after
// the ack timeout, a delayed NACK, an immediate NACK, and dead-lettering.
func TestRedeliveryNackDeadLetter(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) {
		// Long enough that a loaded CI machine does not let the
		// "not yet" checks below race the timers (see notYet).
		o.Queue.AckTimeout = time.Second
		o.Queue.MaxDeliver = 3
	})
	c := dial(t, n)
	ctx := ctxT(t)
	if _, err := c.Publish(ctx, "jobs", []byte("job-1")); err != nil {
		t.Fatal(err)
	}
	fetch := func(wait time.Duration) []client.Delivery {
		t.Helper()
		ds, err := c.Fetch(ctx, "jobs", "w", 10, wait)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	// notYet checks that nothing is delivered now, since was before the
	// step that started a 1 s timer. A machine that stalled past the timer
	// makes the check meaningless: skipped then, never failed.
	notYet := func(since time.Time, what string) {
		t.Helper()
		if ds := fetch(0); len(ds) != 0 {
			if el := time.Since(since); el >= time.Second {
				t.Skipf("%s: %v passed before the check could run (machine too slow)", what, el)
			}
			t.Fatalf("%s delivered at once: %+v", what, ds)
		}
	}
	start := time.Now()
	d1 := fetch(0)
	if len(d1) != 1 || d1[0].Attempt != 1 {
		t.Fatalf("first fetch %+v", d1)
	}
	notYet(start, "in-flight message")
	// Not acked: back after the ack timeout, attempt 2.
	d2 := fetch(5 * time.Second)
	if len(d2) != 1 || d2[0].Attempt != 2 || d2[0].Seq != d1[0].Seq {
		t.Fatalf("redelivery %+v", d2)
	}
	// NACK with a delay: not at once, then attempt 3.
	start = time.Now()
	if err := c.Nack(ctx, "jobs", "w", time.Second, d2[0].Seq); err != nil {
		t.Fatal(err)
	}
	notYet(start, "delayed nack")
	d3 := fetch(5 * time.Second)
	if len(d3) != 1 || d3[0].Attempt != 3 {
		t.Fatalf("after delayed nack %+v", d3)
	}
	// Attempts exhausted: the next NACK sends it to jobs.dlq.
	if err := c.Nack(ctx, "jobs", "w", 0, d3[0].Seq); err != nil {
		t.Fatal(err)
	}
	dlq, err := c.Fetch(ctx, "jobs.dlq", "ops", 10, 5*time.Second)
	if err != nil || len(dlq) != 1 || string(dlq[0].Payload) != "job-1" {
		t.Fatalf("dead letter %+v %v", dlq, err)
	}
	if ds := fetch(500 * time.Millisecond); len(ds) != 0 {
		t.Fatalf("dead-lettered message still delivered: %+v", ds)
	}
}

// TestRestartKeepsState: acked messages stay acked, the rest come back,
// groups survive, also across snapshots and log trims; with every message
// in memory, and with none (each read back from the log). A snapshot holds
// messages by location, so after the restart they are read from the log.
func TestRestartKeepsState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cache int64
	}{{"cache", 0}, {"no-cache", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			n := nodetest.Start(t, func(o *stages.Options) {
				o.SnapshotEvery = 8
				o.MessageCache = tc.cache
			})
			c := dial(t, n)
			publishN(t, c, "s", "p", 100)
			ctx := ctxT(t)
			ds, err := c.Fetch(ctx, "s", "g", 40, 0)
			if err != nil || len(ds) != 40 {
				t.Fatalf("fetch %d %v", len(ds), err)
			}
			for i, d := range ds {
				if want := fmt.Sprintf("p-%d", i+1); string(d.Payload) != want {
					t.Fatalf("before restart: delivery %d is %q, want %q", i, d.Payload, want)
				}
			}
			if fromLog := metricValue(t, n, "swarmmq_fanout_messages_from_log_total"); (fromLog == 40) != (tc.cache < 0) {
				t.Fatalf("%v of 40 messages read from the log with message cache %d", fromLog, tc.cache)
			}
			for _, d := range ds[:30] {
				if err := c.Ack(ctx, "s", "g", d.Seq); err != nil { // 30 records: several snapshots
					t.Fatal(err)
				}
			}
			waitSnapshots(t, n, 0)
			n.Restart()
			c = dial(t, n)
			got := payloads(drain(t, c, "s", "g", true))
			want := []string{}
			for i := 31; i <= 100; i++ {
				want = append(want, fmt.Sprintf("p-%d", i))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("after restart got %d messages %v…, want p-31..p-100", len(got), got[:min(5, len(got))])
			}
			if fromLog := metricValue(t, n, "swarmmq_fanout_messages_from_log_total"); fromLog != 70 {
				t.Fatalf("after restart %v of 70 messages read from the log, want all (restored by location)", fromLog)
			}
		})
	}
}

// waitSnapshots waits until n has written more than before snapshots.
// Snapshots are written off the partition's goroutine, so the test polls
// the counter (a condition, not a guess at timing), for at most
// nodetest.Timeout.
func waitSnapshots(t *testing.T, n *nodetest.Node, before float64) {
	t.Helper()
	deadline := time.Now().Add(nodetest.Timeout)
	for metricValue(t, n, "swarmmq_fanout_snapshots_total") <= before {
		if time.Now().After(deadline) {
			t.Fatal("no snapshot written")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising on time
	}
}

// metricValue returns the value of an unlabelled metric of n (0 if absent).
func metricValue(t *testing.T, n *nodetest.Node, name string) float64 {
	t.Helper()
	var b strings.Builder
	n.Metrics().WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// TestLongPoll: a waiting FETCH is answered as soon as a message arrives.
func TestLongPoll(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := dial(t, n)
	ctx := ctxT(t)
	// Create the group first so the poll parks on an existing group.
	if ds, err := c.Fetch(ctx, "lp", "g", 1, 0); err != nil || len(ds) != 0 {
		t.Fatalf("%v %v", ds, err)
	}
	got := make(chan []client.Delivery, 1)
	go func() {
		ds, _ := c.Fetch(ctx, "lp", "g", 10, 15*time.Second)
		got <- ds
	}()
	waitParked(t, n)
	start := time.Now()
	if _, err := dial(t, n).Publish(ctx, "lp", []byte("wake")); err != nil {
		t.Fatal(err)
	}
	ds := <-got
	if len(ds) != 1 || string(ds[0].Payload) != "wake" {
		t.Fatalf("long poll got %+v", ds)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("long poll answered only after %v", took)
	}
}

// waitParked polls the node's metrics until a fetch is parked.
func waitParked(t *testing.T, n *nodetest.Node) {
	t.Helper()
	deadline := time.Now().Add(nodetest.Timeout)
	for time.Now().Before(deadline) {
		var b strings.Builder
		n.Metrics().WritePrometheus(&b)
		if strings.Contains(b.String(), "swarmmq_fanout_parked_fetches 1\n") {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising on time
	}
	t.Fatal("fetch never parked")
}

// TestDestinationLimits: past max_msgs a publish is refused with
// DESTINATION_FULL and nothing is stored; acking makes room again.
func TestDestinationLimits(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.Queue.MaxMsgs = 3 })
	c := dial(t, n)
	ctx := ctxT(t)
	if ds, err := c.Fetch(ctx, "lim", "g", 1, 0); err != nil || len(ds) != 0 {
		t.Fatalf("%v %v", ds, err)
	}
	res, err := c.Publish(ctx, "lim", []byte("1"), []byte("2"), []byte("3"), []byte("4"))
	if frame.CodeOf(err) != frame.CodeDestinationFull || len(res) != 4 {
		t.Fatalf("publish past the limit: %v", err)
	}
	if res[2].Err != nil || frame.CodeOf(res[3].Err) != frame.CodeDestinationFull {
		t.Fatalf("results %+v", res)
	}
	got := drain(t, c, "lim", "g", true)
	if fmt.Sprint(payloads(got)) != "[1 2 3]" {
		t.Fatalf("stored %v", payloads(got))
	}
	if res, err := c.Publish(ctx, "lim", []byte("5")); err != nil || res[0].Err != nil {
		t.Fatalf("after acks: %+v %v", res, err)
	}
}

// TestFsyncInterval: the interval policy acknowledges and keeps messages
// across a clean restart.
func TestFsyncInterval(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) {
		o.Sync = wal.SyncInterval
		o.SyncInterval = 20 * time.Millisecond
	})
	publishN(t, dial(t, n), "iv", "i", 500)
	n.Restart()
	if got := drain(t, dial(t, n), "iv", "g", true); len(got) != 500 {
		t.Fatalf("after restart %d of 500", len(got))
	}
}
