package e2e

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
	"github.com/swarmmq/swarmmq/wal"
)

// samePartition returns a destination name other than dest in dest's
// partition (of the default 16).
func samePartition(t *testing.T, dest string) string {
	t.Helper()
	want := route.Partition([]byte(dest), wal.DefaultPartitions)
	for i := 0; ; i++ {
		if name := fmt.Sprint("other", i); route.Partition([]byte(name), wal.DefaultPartitions) == want {
			return name
		}
	}
}

// TestDedupeScopedToDestination: the same message id published to two
// destinations of one partition is two messages; a duplicate is reported
// only for the destination that stored the original, with its seq.
func TestDedupeScopedToDestination(t *testing.T) {
	n := nodetest.Start(t, nil)
	r := nodetest.Handshake(t, n.AddrString())
	other := samePartition(t, "alpha")
	publishRaw(t, r, "alpha", msg(100, "a0"))
	first := publishRaw(t, r, "alpha", msg(1, "alpha-1"))
	second := publishRaw(t, r, other, msg(1, "other-1"))
	retry := publishRaw(t, r, other, msg(1, "other-1"))
	if first[0] != (frame.AckEntry{Seq: 2}) || second[0] != (frame.AckEntry{Seq: 1}) ||
		retry[0] != (frame.AckEntry{Seq: 1, Flags: frame.FlagDuplicate}) {
		t.Fatalf("acks alpha %+v, %s %+v, retry %+v: want seq 2 stored, seq 1 stored, then a duplicate of %s's seq 1",
			first[0], other, second[0], retry[0], other)
	}
	if got := fetchRaw(t, r, other, "g", 10); !slices.Equal(got, []string{"other-1"}) {
		t.Fatalf("%s holds %v", other, got)
	}
}

// producerSession opens (id 0) or resumes a producer session on r and
// returns PRODUCER_OK, or the error code.
func producerSession(t *testing.T, r *nodetest.Raw, p frame.Producer) (frame.ProducerOK, frame.Code) {
	t.Helper()
	corr := r.NextCorr()
	r.Write(frame.AppendProducer(nil, corr, p))
	f := r.Read()
	if f.Corr != corr {
		t.Fatalf("PRODUCER answered %s corr %d", f.Type, f.Corr)
	}
	if f.Type == frame.TypeError {
		code, _, err := frame.DecodeError(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		return frame.ProducerOK{}, code
	}
	ok, err := frame.DecodeProducerOK(f.Body)
	if err != nil || f.Type != frame.TypeProducerOK {
		t.Fatalf("PRODUCER answered %s: %v", f.Type, err)
	}
	return ok, frame.CodeOK
}

// publishSession publishes msgs in the connection's producer session.
func publishSession(t *testing.T, r *nodetest.Raw, dest string, msgs ...frame.Message) ([]frame.AckEntry, frame.Code) {
	t.Helper()
	corr := r.NextCorr()
	b := frame.AppendPublish(nil, corr, []byte(dest), msgs)
	frame.SetFlags(b, 0, frame.FlagSession)
	r.Write(b)
	f := r.Read()
	if f.Type == frame.TypeError {
		code, _, _ := frame.DecodeError(f.Body)
		return nil, code
	}
	pa, err := frame.DecodePublishAck(f.Body)
	if err != nil || f.Corr != corr {
		t.Fatalf("publish answered %s corr %d: %v", f.Type, f.Corr, err)
	}
	out := make([]frame.AckEntry, pa.Len())
	for i := range out {
		out[i] = pa.Entry(i)
	}
	return out, frame.CodeOK
}

// sessionMsg is msg(i, payload) published by producer.
func sessionMsg(producer uint64, i int, payload string) frame.Message {
	m := msg(i, payload)
	m.Producer = producer
	return m
}

// TestProducerSessionRetries: a retry in a producer session is recognised
// however much other traffic the partition stored in between (here 40
// times the window of application ids), on a new connection resuming the
// session, and after a restart; the application-id window counts the ids
// it dropped early.
func TestProducerSessionRetries(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.Queue.DedupeMax = 50 })
	r := nodetest.Handshake(t, n.AddrString())
	s, code := producerSession(t, r, frame.Producer{})
	if code != frame.CodeOK || s.ID == 0 || s.Window == 0 {
		t.Fatalf("PRODUCER: %+v %s", s, code)
	}
	first, _ := publishSession(t, r, "orders", sessionMsg(s.ID, 1, "o1"), sessionMsg(s.ID, 2, "o2"))
	flood := nodetest.Handshake(t, n.AddrString())
	other := samePartition(t, "orders")
	for i := range 40 {
		batch := make([]frame.Message, 50)
		for j := range batch {
			batch[j] = msg(1000+50*i+j, "x")
		}
		publishRaw(t, flood, []string{"orders", other}[i%2], batch...)
	}
	want := []frame.AckEntry{{Seq: 1, Flags: frame.FlagDuplicate}, {Seq: 2, Flags: frame.FlagDuplicate}}
	retry := func(r *nodetest.Raw) {
		t.Helper()
		if _, code := producerSession(t, r, frame.Producer{ID: s.ID, Token: s.Token}); code != frame.CodeOK {
			t.Fatalf("resume: %s", code)
		}
		got, code := publishSession(t, r, "orders", sessionMsg(s.ID, 1, "o1"), sessionMsg(s.ID, 2, "o2"))
		if code != frame.CodeOK || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("first %v; retry after 2000 other messages answered %v %s, want %v", first, got, code, want)
		}
	}
	retry(nodetest.Handshake(t, n.AddrString()))
	waitMetricSum(t, n, "swarmmq_dedupe_ids_evicted_total", func(v float64) bool { return v > 0 })
	n.Restart()
	retry(nodetest.Handshake(t, n.AddrString()))
	got := fetchRaw(t, nodetest.Handshake(t, n.AddrString()), "orders", "g", 5)
	if !slices.Equal(got, []string{"o1", "o2", "x", "x", "x"}) {
		t.Fatalf("orders starts with %v", got)
	}
}

// TestProducerSessionCannotBeUsedByOthers: a client that has seen another
// producer's messages (ids, producer id) cannot publish in its session,
// and nothing it publishes makes that producer's messages duplicates.
func TestProducerSessionCannotBeUsedByOthers(t *testing.T) {
	n := nodetest.Start(t, nil)
	victim := dial(t, n)
	ctx := ctxT(t)
	res, err := victim.Publish(ctx, "pay", []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	seen := res[0].ID
	vp := victim.ProducerID()

	a := nodetest.Handshake(t, n.AddrString())
	if _, code := producerSession(t, a, frame.Producer{ID: vp}); code != frame.CodeBadProducer {
		t.Fatalf("resuming the victim's session without its token: %s, want BAD_PRODUCER", code)
	}
	if _, code := publishSession(t, a, "pay", sessionMsg(vp, 1, "forged")); code != frame.CodeBadProducer {
		t.Fatalf("session PUBLISH without a session: %s, want BAD_PRODUCER", code)
	}
	if _, code := producerSession(t, a, frame.Producer{}); code != frame.CodeOK {
		t.Fatalf("own session: %s", code)
	}
	forged := sessionMsg(vp, 1, "forged")
	forged.ID = seen
	if got, _ := publishSession(t, a, "pay", forged); len(got) != 1 || got[0].Code != frame.CodeBadProducer {
		t.Fatalf("a message claiming the victim's producer id answered %v, want BAD_PRODUCER", got)
	}
	// With the old ids (8 random bytes + a counter) the next ids were
	// predictable: publish them first, as application ids and in the
	// attacker's own session, to every destination of the partition.
	var guesses []frame.Message
	for k := 1; k <= 100; k++ {
		m := msg(0, "poison")
		copy(m.ID[:8], seen[:8])
		binary.BigEndian.PutUint64(m.ID[8:], binary.BigEndian.Uint64(seen[8:])+uint64(k))
		guesses = append(guesses, m)
	}
	publishRaw(t, a, "pay", guesses...)
	for i := range guesses {
		guesses[i].Producer = 0
	}
	publishRaw(t, a, "pay", append([]frame.Message{msg(5000, "own")}, guesses[:10]...)...)
	next, err := victim.Publish(ctx, "pay", []byte("v2"), []byte("v3"), []byte("v4"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range next {
		if r.Duplicate {
			t.Fatalf("the victim's message %x was taken for a duplicate of a forged one", r.ID)
		}
	}
	got := fetchRaw(t, nodetest.Handshake(t, n.AddrString()), "pay", "audit", 200)
	for _, p := range []string{"v1", "v2", "v3", "v4"} {
		if !slices.Contains(got, p) {
			t.Fatalf("%s was not stored: %v", p, got)
		}
	}
}

// TestPublishWithID: application ids are deduplicated per destination by
// any client, within the window.
func TestPublishWithID(t *testing.T) {
	n := nodetest.Start(t, nil)
	c1, c2 := dial(t, n), dial(t, n)
	ctx := ctxT(t)
	id := [16]byte{'o', 'r', 'd', 'e', 'r', '-', '4', '2'}
	first, err := c1.PublishWithID(ctx, "orders", id, []byte("order 42"))
	if err != nil || first.Duplicate || first.ID != id {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := c2.PublishWithID(ctx, "orders", id, []byte("order 42, again"))
	if err != nil || !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("the same id from another client: %+v %v, want a duplicate of seq %d", again, err, first.Seq)
	}
	elsewhere, err := c2.PublishWithID(ctx, "invoices", id, []byte("invoice 42"))
	if err != nil || elsewhere.Duplicate {
		t.Fatalf("the same id in another destination: %+v %v, want stored", elsewhere, err)
	}
	ds, err := c1.Fetch(ctx, "orders", "g", 10, 0)
	if err != nil || len(ds) != 1 || string(ds[0].Payload) != "order 42" {
		t.Fatalf("orders holds %v (%v)", ds, err)
	}
}

// TestClientRetryAcrossReconnectIsSessionScoped: the Go client resumes its
// producer session after the node restarts, keeping its producer id.
func TestClientRetryAcrossReconnectIsSessionScoped(t *testing.T) {
	n := nodetest.Start(t, nil)
	ctx := ctxT(t)
	c, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), ClientID: t.Name(), MaxReconnects: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	before := c.ProducerID()
	if _, err := c.Publish(ctx, "q", []byte("one")); err != nil {
		t.Fatal(err)
	}
	n.Opts.ClientAddr = n.AddrString() // the same port, for the client to reconnect to
	n.Restart()
	if _, err := c.Publish(ctx, "q", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if c.ProducerID() != before {
		t.Fatalf("producer id %d after the reconnect, was %d: the session was not resumed", c.ProducerID(), before)
	}
}

// waitMetricSum polls the sum of metric name over its labels until ok holds,
// for at most nodetest.Timeout.
func waitMetricSum(t *testing.T, n *nodetest.Node, name string, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(nodetest.Timeout)
	for {
		total := metricSum(t, n, name)
		if ok(total) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %s stayed at %v", name, total)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising on time
	}
}

// metricSum returns the sum of metric name of n over all its labels.
func metricSum(t *testing.T, n *nodetest.Node, name string) float64 {
	t.Helper()
	var b strings.Builder
	n.Metrics().WritePrometheus(&b)
	var total float64
	for _, line := range strings.Split(b.String(), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric %s: %v", line, err)
		}
		total += f
	}
	return total
}
