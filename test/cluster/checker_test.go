package cluster

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// t0 is the start of every crafted history.
var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// clean is a correct history: three payloads acknowledged at seqs 1–3 of
// q, each delivered once to both groups and confirmed.
func clean() History {
	h := History{Start: t0, ProduceEnd: at(1000), Groups: []string{"g0", "g1"}}
	for i, id := range []string{"p0-1", "p0-2", "p0-3"} {
		seq := uint64(i + 1)
		h.Publishes = append(h.Publishes, Publish{Producer: "p0", Dest: "q", ID: id, Sent: at(10 * i), At: at(10*i + 5), Seq: seq})
		for _, g := range h.Groups {
			h.Deliveries = append(h.Deliveries, Delivery{Group: g, Dest: "q", Seq: seq, ID: id, Attempt: 1,
				Fetched: at(100 + 10*i), At: at(101 + 10*i), Confirmed: at(102 + 10*i)})
		}
	}
	return h
}

// drop removes the deliveries keep rejects.
func drop(h History, reject func(Delivery) bool) History {
	h.Deliveries = slices.DeleteFunc(slices.Clone(h.Deliveries), reject)
	return h
}

func TestCheckCleanHistory(t *testing.T) {
	r := Check(clean())
	if !r.OK() || len(r.Inversions) != 0 || r.Again != 0 {
		t.Fatalf("a clean history fails:\n%s", r.Table())
	}
	if r.Attempted != 3 || r.Acked != 3 || r.Delivered != 6 || r.Confirmed != 6 {
		t.Fatalf("counts: %+v", r)
	}
	if !regexp.MustCompile(`acknowledged publishes lost\s+0\s+0\s+ok`).MatchString(r.Table()) {
		t.Fatalf("table:\n%s", r.Table())
	}
}

func TestCheckFindsLoss(t *testing.T) {
	h := drop(clean(), func(d Delivery) bool { return d.Group == "g1" && d.ID == "p0-2" })
	r := Check(h)
	want := []Loss{{Group: "g1", Dest: "q", ID: "p0-2", Seq: 2}}
	if !slices.Equal(r.Lost, want) || r.OK() {
		t.Fatalf("lost %+v, want %+v", r.Lost, want)
	}
	if !regexp.MustCompile(`acknowledged publishes lost\s+1\s+0\s+FAIL`).MatchString(r.Table()) {
		t.Fatalf("table:\n%s", r.Table())
	}
}

func TestCheckUnackedPublishIsNotLost(t *testing.T) {
	h := clean()
	h.Publishes = append(h.Publishes, Publish{Producer: "p0", Dest: "q", ID: "p0-4", At: at(50), Err: "connection lost"})
	if r := Check(h); !r.OK() || r.Attempted != 4 || r.Acked != 3 {
		t.Fatalf("a failed publish never delivered counts as lost:\n%s", r.Table())
	}
	// Delivered to g1 but never confirmed: not lost, counted.
	h2 := clean()
	for i := range h2.Deliveries {
		if h2.Deliveries[i].Group == "g1" && h2.Deliveries[i].ID == "p0-3" {
			h2.Deliveries[i].Confirmed = time.Time{}
		}
	}
	if r := Check(h2); !r.OK() || r.Unconfirmed != 1 {
		t.Fatalf("unconfirmed %d, want 1:\n%s", r.Unconfirmed, r.Table())
	}
	// Stored although its ack was lost: delivered, fine too.
	h.Deliveries = append(h.Deliveries, Delivery{Group: "g0", Dest: "q", Seq: 4, ID: "p0-4", Fetched: at(200), At: at(201)})
	if r := Check(h); !r.OK() {
		t.Fatalf("a failed publish that was stored is flagged:\n%s", r.Table())
	}
}

func TestCheckFindsRedeliveryAfterConfirmedAck(t *testing.T) {
	h := clean()
	h.Deliveries = append(h.Deliveries, Delivery{Group: "g0", Dest: "q", Seq: 1, ID: "p0-1", Attempt: 1,
		Fetched: at(500), At: at(501)})
	r := Check(h)
	if len(r.Redelivered) != 1 || r.Redelivered[0].ID != "p0-1" || r.Redelivered[0].AckConfirmed != at(102) || r.OK() {
		t.Fatalf("redelivered %+v", r.Redelivered)
	}
	if !strings.Contains(r.Table(), "redelivered: q/p0-1 seq 1 to group g0") {
		t.Fatalf("table:\n%s", r.Table())
	}
}

func TestCheckAllowsRedeliveryBeforeConfirmedAck(t *testing.T) {
	h := clean()
	// g0 got p0-1 earlier too, but its ack never came back (a crash):
	// at-least-once, not a violation.
	h.Deliveries = append(h.Deliveries, Delivery{Group: "g0", Dest: "q", Seq: 1, ID: "p0-1", Attempt: 1,
		Fetched: at(60), At: at(61)})
	// g1 fetched again before its ACK_OK arrived; the reply came after it.
	h.Deliveries = append(h.Deliveries, Delivery{Group: "g1", Dest: "q", Seq: 1, ID: "p0-1", Attempt: 2,
		Fetched: at(101), At: at(103)})
	r := Check(h)
	if !r.OK() || r.Again != 2 {
		t.Fatalf("at-least-once redelivery flagged (again %d):\n%s", r.Again, r.Table())
	}
}

func TestCheckFindsPayloadStoredTwice(t *testing.T) {
	h := clean()
	h.Deliveries = append(h.Deliveries, Delivery{Group: "g1", Dest: "q", Seq: 4, ID: "p0-3", Attempt: 1,
		Fetched: at(50), At: at(51)})
	r := Check(h)
	want := Double{Dest: "q", ID: "p0-3", Seqs: []uint64{3, 4}}
	if len(r.StoredTwice) != 1 || r.StoredTwice[0].ID != want.ID || !slices.Equal(r.StoredTwice[0].Seqs, want.Seqs) || r.OK() {
		t.Fatalf("stored twice %+v, want %+v", r.StoredTwice, want)
	}
	// Stored twice is also visible from two publish acks alone.
	h = clean()
	h.Publishes = append(h.Publishes, Publish{Producer: "p0", Dest: "q", ID: "p0-3", At: at(60), Seq: 7})
	if r := Check(h); len(r.StoredTwice) != 1 {
		t.Fatalf("two acks at two seqs not flagged:\n%s", r.Table())
	}
	// The same id in another destination is another message.
	h = clean()
	h.Publishes = append(h.Publishes, Publish{Producer: "p0", Dest: "r", ID: "p0-3", At: at(60), Seq: 1})
	for _, g := range h.Groups {
		h.Deliveries = append(h.Deliveries, Delivery{Group: g, Dest: "r", Seq: 1, ID: "p0-3", Fetched: at(70), At: at(71)})
	}
	if r := Check(h); !r.OK() {
		t.Fatalf("one id in two destinations flagged:\n%s", r.Table())
	}
}

func TestCheckFindsSeqConflictAndUnknown(t *testing.T) {
	h := clean()
	h.Deliveries = append(h.Deliveries, Delivery{Group: "g0", Dest: "q", Seq: 2, ID: "zz-9", Fetched: at(50), At: at(51)})
	r := Check(h)
	if len(r.SeqConflicts) != 1 || !slices.Equal(r.SeqConflicts[0].IDs, []string{"p0-2", "zz-9"}) {
		t.Fatalf("conflicts %+v", r.SeqConflicts)
	}
	if len(r.Unknown) != 1 || r.Unknown[0].ID != "zz-9" || r.OK() {
		t.Fatalf("unknown %+v", r.Unknown)
	}
}

func TestCheckFindsOrderInversion(t *testing.T) {
	h := clean()
	// g0 gets seq 2 before seq 1; its redelivery of 2 later is no inversion.
	var g0 []Delivery
	for _, d := range h.Deliveries {
		if d.Group == "g0" {
			g0 = append(g0, d)
		}
	}
	h = drop(h, func(d Delivery) bool { return d.Group == "g0" })
	g0[0], g0[1] = g0[1], g0[0]
	h.Deliveries = append(h.Deliveries, g0...)
	r := Check(h)
	want := []Inversion{{Group: "g0", Dest: "q", Seq: 1, After: 2}}
	if !slices.Equal(r.Inversions, want) {
		t.Fatalf("inversions %+v, want %+v", r.Inversions, want)
	}
	if !r.OK() {
		t.Fatal("order is reported, not a failure")
	}
}

func TestCheckCountsErrors(t *testing.T) {
	h := clean()
	rec := &Recorder{}
	rec.mu.h = h
	rec.Error("producer p0", "publish", errors.New("connection lost"))
	rec.Error("producer p0", "publish", errors.New("connection lost"))
	rec.Error("consumer g0/q", "fetch", errors.New("swarmmq: fetch from q for group g0: connection lost: read tcp 127.0.0.1:4242->127.0.0.1:9001: reset"))
	rec.Error("consumer g1/r", "fetch", errors.New("swarmmq: fetch from r for group g1: connection lost: read tcp 127.0.0.1:4243->127.0.0.1:9001: reset"))
	rec.Error("producer p1", "publish", errors.New("p1-17: swarmmq: publish to chaos-1: NOT_LEADER: partition 6 is not led by this node"))
	rec.Error("producer p2", "publish", errors.New("p2-9: swarmmq: publish to chaos-2: NOT_LEADER: partition 3 is not led by this node"))
	rec.Error("consumer g0/q", "ack", errors.New("swarmmq: ack on q for group g0: connection lost"))
	rec.Error("consumer g1/r", "ack", errors.New("swarmmq: ack on r for group g1: connection lost"))
	r := Check(rec.History())
	if len(r.Errors) != 4 || r.Errors[2].Count != 2 || r.Errors[3].Count != 2 {
		t.Fatalf("errors %+v", r.Errors)
	}
	if want := "swarmmq: publish to <dest>: NOT_LEADER: partition <p> is not led by this node"; r.Errors[2].Err != want {
		t.Fatalf("generalised %q, want %q", r.Errors[2].Err, want)
	}
	if want := "swarmmq: ack on <dest> for group <group>: connection lost"; r.Errors[3].Err != want {
		t.Fatalf("generalised %q, want %q", r.Errors[3].Err, want)
	}
	if len(r.Errors) != 4 || r.Errors[0].Count != 2 || r.Errors[0].Op != "publish" || r.Errors[1].Count != 2 {
		t.Fatalf("errors %+v", r.Errors)
	}
	if want := "swarmmq: fetch from <dest> for group <group>: connection lost: read tcp <addr>-><addr>: reset"; r.Errors[1].Err != want {
		t.Fatalf("generalised %q, want %q", r.Errors[1].Err, want)
	}
	if r.errorTotal() != 8 {
		t.Fatalf("total %d", r.errorTotal())
	}
}

func TestCheckMeasuresOutages(t *testing.T) {
	h := History{Start: t0, ProduceEnd: at(14000), Groups: []string{"g"}}
	for i, ms := range []int{9900, 10500, 11200, 11300, 11900, 16000} {
		h.Publishes = append(h.Publishes, Publish{Dest: "q", ID: "p-" + string(rune('a'+i)), At: at(ms), Seq: uint64(i + 1)})
	}
	h.Faults = []Fault{
		{Kind: FaultPause, Node: "n1", Start: at(12000), Healed: at(12100)}, // listed out of order on purpose
		{Kind: FaultKill, Node: "n1", Start: at(10000), Healed: at(10400)},
	}
	r := Check(h)
	if len(r.Outages) != 2 {
		t.Fatalf("outages %+v", r.Outages)
	}
	kill, pause := r.Outages[0], r.Outages[1]
	if kill.Kind != FaultKill || kill.Longest != 700*time.Millisecond || !kill.Recovered || kill.At != 10*time.Second {
		t.Fatalf("kill outage %+v, want 700ms", kill)
	}
	// No ack between the pause and the end of production: the gap runs
	// to the first ack after it.
	if pause.Longest != 4*time.Second || !pause.Recovered {
		t.Fatalf("pause outage %+v, want 4s", pause)
	}
	if r.MaxOutage() != 4*time.Second {
		t.Fatalf("max %v", r.MaxOutage())
	}
	h.Publishes = h.Publishes[:5]
	if o := Check(h).Outages[1]; o.Recovered || o.Longest != 2*time.Second {
		t.Fatalf("unrecovered outage %+v, want 2s to the end", o)
	}
	if !strings.Contains(Check(h).Table(), "(no ack after it)") {
		t.Fatal("table does not say the outage never ended")
	}
}

// TestCheckOutageIsPerDestination: a leader kill stops the destination
// whose partition the node led while another goes on; the outage is the
// stopped one's, and ByKind summarises the faults of each kind.
func TestCheckOutageIsPerDestination(t *testing.T) {
	h := History{Start: t0, ProduceEnd: at(10000), Groups: []string{"g"}}
	n := 0
	ack := func(dest string, ms int) {
		n++
		h.Publishes = append(h.Publishes, Publish{Dest: dest, ID: "p-" + strconv.Itoa(n), At: at(ms), Seq: uint64(n)})
	}
	for ms := 0; ms < 10000; ms += 100 {
		ack("a", ms+10) // a never stops
		// b stops for 1.2s after the first fault, 300ms after the
		// second, and never acks again after the third.
		if (ms < 2000 || ms >= 3200) && (ms < 5000 || ms >= 5300) && ms < 8000 {
			ack("b", ms+20)
		}
	}
	h.Faults = []Fault{
		{Kind: FaultKillLeader, Node: "node-2", Dest: "b", Start: at(2000)},
		{Kind: FaultKillLeader, Node: "node-4", Dest: "b", Start: at(5000)},
		{Kind: FaultIsolateLeader, Node: "node-1", Dest: "b", Start: at(7990)},
	}
	r := Check(h)
	want := []struct {
		longest   time.Duration
		recovered bool
	}{{1220 * time.Millisecond, true}, {320 * time.Millisecond, true}, {2010 * time.Millisecond, false}}
	for i, w := range want {
		o := r.Outages[i]
		if o.Dest != "b" || o.Longest != w.longest || o.Recovered != w.recovered {
			t.Errorf("outage %d: %s %v recovered=%v, want b %v %v", i+1, o.Dest, o.Longest, o.Recovered, w.longest, w.recovered)
		}
	}
	got := r.ByKind()
	wantKinds := []KindOutage{
		{Kind: FaultKillLeader, Faults: 2, Median: 320 * time.Millisecond, Max: 1220 * time.Millisecond},
		{Kind: FaultIsolateLeader, Faults: 1, Unrecovered: 1, Median: 2010 * time.Millisecond, Max: 2010 * time.Millisecond},
	}
	if !slices.Equal(got, wantKinds) {
		t.Fatalf("by kind %+v, want %+v", got, wantKinds)
	}
	if !regexp.MustCompile(`kill9-leader\s+2\s+320ms\s+1.22s\s+0`).MatchString(r.Table()) {
		t.Fatalf("table:\n%s", r.Table())
	}
}

// TestTableBoundsTheErrorRows: the most frequent errors are listed, the
// others summed up in one line.
func TestTableBoundsTheErrorRows(t *testing.T) {
	rec := &Recorder{}
	rec.mu.h = clean()
	for i := range maxErrorRows + 3 {
		for range i + 1 {
			rec.Error("producer p0", "publish", errors.New("failure kind "+strconv.Itoa(i)))
		}
	}
	table := Check(rec.History()).Table()
	if strings.Contains(table, "failure kind 0\n") || strings.Contains(table, "failure kind 2\n") ||
		!strings.Contains(table, "failure kind 3\n") || !strings.Contains(table, "failure kind 17\n") {
		t.Fatalf("not the %d most frequent:\n%s", maxErrorRows, table)
	}
	if !strings.Contains(table, "… and 6 more errors of 3 other kinds") {
		t.Fatalf("no summary of the rest:\n%s", table)
	}
}

// TestCheckOverBound: only the outages of the bounded kinds that exceed
// the bound are reported, in fault order; one exactly at the bound passes.
func TestCheckOverBound(t *testing.T) {
	r := Report{Outages: []Outage{
		{Fault: Fault{Kind: FaultKillLeader, Node: "a"}, Longest: 1600 * time.Millisecond},
		{Fault: Fault{Kind: FaultKillFollower, Node: "b"}, Longest: 4 * time.Second},
		{Fault: Fault{Kind: FaultPauseLeader, Node: "c"}, Longest: DefaultOutageBound},
		{Fault: Fault{Kind: FaultIsolateLeader, Node: "d"}, Longest: 2 * time.Second},
	}}
	got := r.OverBound(BoundedKinds, DefaultOutageBound)
	if len(got) != 2 || got[0].Node != "a" || got[1].Node != "d" {
		t.Fatalf("over the bound: %+v", got)
	}
	if got := r.OverBound(BoundedKinds, 5*time.Second); len(got) != 0 {
		t.Fatalf("over 5s: %+v", got)
	}
}
