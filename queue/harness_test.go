package queue

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// env is the state of one datadriven trace: a partition, the log index and
// a clock in ns. Times in traces are seconds (decimals allowed).
type env struct {
	t     *testing.T
	opts  Options
	p     *Partition
	index uint64
	log   testLog
	now   int64
	res   []Result
	deliv []Delivery
	dead  []DeadSet
}

type handler func(e *env, td *datadriven.TestData) string

// handlers maps each trace command to its handler.
var handlers = map[string]handler{
	"new":              (*env).cmdNew,
	"publish":          (*env).cmdPublish,
	"create-group":     (*env).cmdCreateGroup,
	"deliver":          (*env).cmdDeliver,
	"ack":              (*env).cmdAck,
	"nack":             (*env).cmdNack,
	"progress":         (*env).cmdProgress,
	"terminate":        (*env).cmdTerminate,
	"dead-letter":      (*env).cmdDeadLetter,
	"expire":           (*env).cmdExpire,
	"sweep":            (*env).cmdSweep,
	"next-deadline":    (*env).cmdNextDeadline,
	"lookup":           (*env).cmdLookup,
	"snapshot-restore": (*env).cmdSnapshotRestore,
	"state":            (*env).cmdState,
	"stats":            (*env).cmdStats,
	"dest-config":      (*env).cmdDestConfig,
	"purge":            (*env).cmdPurge,
	"delete-dest":      (*env).cmdDeleteDest,
	"reset":            (*env).cmdReset,
	"delete-group":     (*env).cmdDeleteGroup,
	"replay":           (*env).cmdReplay,
	"peek":             (*env).cmdPeek,
	"holders":          (*env).cmdHolders,
}

func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		e := &env{t: t, log: testLog{}}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			e.t = t
			h, ok := handlers[td.Cmd]
			if !ok {
				td.Fatalf(t, "unknown command %q", td.Cmd)
			}
			if td.Cmd != "new" && e.p == nil {
				td.Fatalf(t, "run new first")
			}
			return h(e, td)
		})
	})
}

// testID maps a short name to a 16-byte message id (zero padded).
func testID(name string) [16]byte {
	var id [16]byte
	copy(id[:], name)
	return id
}

// idName is the inverse of testID.
func idName(id [16]byte) string { return string(bytes.TrimRight(id[:], "\x00")) }

// appendTestMsg appends a wire message of producer 1 whose payload is
// payload.
func appendTestMsg(dst []byte, id [16]byte, ts int64, payload []byte) []byte {
	return appendProducerMsg(dst, id, ts, 1, payload)
}

// appendProducerMsg appends a wire message of producer whose payload is
// payload.
func appendProducerMsg(dst []byte, id [16]byte, ts int64, producer uint64, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, id[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = binary.BigEndian.AppendUint64(dst, producer)
	dst = binary.BigEndian.AppendUint32(dst, 0) // key id: unsealed
	dst = binary.BigEndian.AppendUint32(dst, 0) // crc, patched below
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, payload...)
	m := dst[start:]
	crc := crc32.Update(0, castagnoli, m[:36])
	crc = crc32.Update(crc, castagnoli, m[40:])
	binary.BigEndian.PutUint32(m[36:], crc)
	return dst
}

// secs parses seconds into ns.
func secs(t testing.TB, s string) int64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return int64(math.Round(f * 1e9))
}

// fmtSecs prints ns as seconds.
func fmtSecs(ns int64) string { return strconv.FormatFloat(float64(ns)/1e9, 'f', -1, 64) }

// str returns the single value of argument key, or def.
func str(td *datadriven.TestData, key, def string) string {
	if a, ok := td.Arg(key); ok {
		return a.Vals[0]
	}
	return def
}

// timeArg returns argument key in ns (default: the env clock) and moves
// the env clock forward to it.
func (e *env) timeArg(td *datadriven.TestData, key string) int64 {
	t := e.now
	if a, ok := td.Arg(key); ok {
		t = secs(e.t, a.Vals[0])
	}
	e.now = max(e.now, t)
	return t
}

func (e *env) intArg(td *datadriven.TestData, key string, def int64) int64 {
	a, ok := td.Arg(key)
	if !ok {
		return def
	}
	v, err := strconv.ParseInt(a.Vals[0], 10, 64)
	if err != nil {
		td.Fatalf(e.t, "bad %s: %v", key, err)
	}
	return v
}

// list expands "a,b,m[1-3]" into a, b, m1, m2, m3.
func list(t testing.TB, s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		pre, rng, ok := strings.Cut(f, "[")
		if !ok {
			out = append(out, f)
			continue
		}
		lo, hi, _ := strings.Cut(strings.TrimSuffix(rng, "]"), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad range %q", f)
		}
		for i := a; i <= b; i++ {
			out = append(out, pre+strconv.Itoa(i))
		}
	}
	return out
}

// seqList parses "1,2,5-7" into seqs.
func seqList(t testing.TB, s string) []uint64 {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		b := a
		if isRange {
			b, err = strconv.ParseUint(hi, 10, 64)
		}
		if err != nil {
			t.Fatalf("bad seqs %q", s)
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out
}

// fmtSeqs prints ascending seqs with runs as ranges: 1-3,7.
func fmtSeqs(seqs []uint64) string {
	var b strings.Builder
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", seqs[i], seqs[j])
		} else {
			fmt.Fprintf(&b, "%d", seqs[i])
		}
		i = j + 1
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// apply applies r at the next index.
func (e *env) apply(r *Record) ([]Result, error) {
	e.index++
	e.log.add(e.index, r)
	var err error
	e.res, err = e.p.Apply(e.index, r, e.res[:0])
	return e.res, err
}

func (e *env) cmdNew(td *datadriven.TestData) string {
	e.opts = Options{
		AckTimeout:   time.Duration(secs(e.t, str(td, "ack-timeout", "0"))),
		MaxDeliver:   int(e.intArg(td, "max-deliver", 0)),
		MaxProgress:  int(e.intArg(td, "max-progress", 0)),
		DedupeWindow: time.Duration(secs(e.t, str(td, "dedupe-window", "0"))),
		DedupeMax:    int(e.intArg(td, "dedupe-max", 0)),
		MaxMsgs:      e.intArg(td, "max-msgs", 0),
		MaxBytes:     e.intArg(td, "max-bytes", 0),
		MaxAge:       time.Duration(secs(e.t, str(td, "max-age", "0"))),
		Retention:    retentionArg(e.t, str(td, "retention", "")),

		ProducerIdle:    time.Duration(secs(e.t, str(td, "producer-idle", "0"))),
		ProducerWindow:  int(e.intArg(td, "producer-window", 0)),
		MaxProducers:    int(e.intArg(td, "max-producers", 0)),
		MaxProducerKeys: int(e.intArg(td, "max-producer-keys", 0)),
	}
	if td.HasArg("memory") {
		e.opts.Memory = NewBudget(e.intArg(td, "memory", 0))
	}
	p, err := New(uint32(e.intArg(td, "partition", 0)), e.opts)
	if err != nil {
		return "error: " + err.Error()
	}
	e.p, e.index, e.now, e.log = p, 0, 0, testLog{}
	return "ok"
}

func (e *env) cmdPublish(td *datadriven.TestData) string {
	t := e.timeArg(td, "t")
	var raw []byte
	names := list(e.t, str(td, "ids", ""))
	typ, producer := RecordMessages, uint64(1)
	if td.HasArg("producer") { // published in that producer's session
		typ, producer = RecordSessionMessages, uint64(e.intArg(td, "producer", 0))
	}
	for _, n := range names {
		raw = appendProducerMsg(raw, testID(n), t, producer, []byte(n))
	}
	r := Record{Type: typ, Time: t, Dest: []byte(str(td, "dest", "q")),
		Count: uint32(len(names)), Raw: raw}
	res, err := e.apply(&r)
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for i, x := range res {
		switch {
		case x.Code != CodeOK:
			fmt.Fprintf(&b, "%s: code=%d\n", names[i], x.Code)
		case x.Duplicate:
			fmt.Fprintf(&b, "%s: seq=%d duplicate\n", names[i], x.Seq)
		default:
			fmt.Fprintf(&b, "%s: seq=%d\n", names[i], x.Seq)
		}
	}
	return b.String()
}

func (e *env) cmdCreateGroup(td *datadriven.TestData) string {
	r := Record{Type: RecordGroupCreate, Time: e.timeArg(td, "t"),
		Dest: []byte(str(td, "dest", "q")), Group: []byte(str(td, "group", "g"))}
	if _, err := e.apply(&r); err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

func (e *env) cmdDeliver(td *datadriven.TestData) string {
	var err error
	e.deliv, err = e.p.DeliverTo([]byte(str(td, "dest", "q")), []byte(str(td, "group", "g")),
		int(e.intArg(td, "max", 100)), e.timeArg(td, "now"), uint64(e.intArg(td, "to", 0)), e.deliv[:0])
	if err != nil {
		return "error: " + err.Error()
	}
	cold := make([]bool, len(e.deliv))
	for i, d := range e.deliv {
		cold[i] = d.Msg == nil
	}
	e.log.resolve(e.t, e.deliv)
	var b strings.Builder
	for i, d := range e.deliv {
		fmt.Fprintf(&b, "seq=%d attempt=%d msg=%s", d.Seq, d.Attempt, idName(msgID(d.Msg)))
		if e.opts.Memory != nil {
			where := "memory"
			if cold[i] {
				where = fmt.Sprintf("log@%d", d.Loc.Index)
			}
			fmt.Fprintf(&b, " from=%s", where)
		}
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "(none)"
	}
	return b.String()
}

func (e *env) cmdAck(td *datadriven.TestData) string {
	r := Record{Type: RecordAck, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q")),
		Group: []byte(str(td, "group", "g")), Seqs: seqList(e.t, str(td, "seqs", ""))}
	if _, err := e.apply(&r); err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

func (e *env) cmdNack(td *datadriven.TestData) string {
	giveBack := e.p.Nack
	if td.HasArg("release") {
		giveBack = e.p.Release
	}
	n := giveBack([]byte(str(td, "dest", "q")), []byte(str(td, "group", "g")),
		seqList(e.t, str(td, "seqs", "")), time.Duration(secs(e.t, str(td, "delay", "0"))),
		e.timeArg(td, "now"))
	return fmt.Sprintf("pending=%d", n)
}

// cmdProgress pushes out deadlines: progress [dest=q] [group=g] seqs=… now=….
func (e *env) cmdProgress(td *datadriven.TestData) string {
	n := e.p.Progress([]byte(str(td, "dest", "q")), []byte(str(td, "group", "g")),
		seqList(e.t, str(td, "seqs", "")), e.timeArg(td, "now"))
	return fmt.Sprintf("extended=%d", n)
}

// cmdTerminate applies a RecordTerminate: terminate [dest=q] [group=g]
// seqs=… [reason=…] t=…; it prints the seqs it terminated.
func (e *env) cmdTerminate(td *datadriven.TestData) string {
	r := Record{Type: RecordTerminate, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q")),
		Group: []byte(str(td, "group", "g")), Note: []byte(str(td, "reason", "")), Seqs: seqList(e.t, str(td, "seqs", ""))}
	res, err := e.apply(&r)
	if err != nil {
		return "error: " + err.Error()
	}
	var done []uint64
	for _, x := range res {
		if x.Count == 1 {
			done = append(done, x.Seq)
		}
	}
	return "terminated=" + fmtSeqs(done)
}

func (e *env) cmdDeadLetter(td *datadriven.TestData) string {
	t := e.timeArg(td, "t")
	if td.HasArg("seqs") { // a record made by hand, not by TakeDead
		r := Record{Type: RecordDeadLetter, Time: t, Dest: []byte(str(td, "dest", "q")),
			Group: []byte(str(td, "group", "g")), Seqs: seqList(e.t, str(td, "seqs", ""))}
		if _, err := e.apply(&r); err != nil {
			return "error: " + err.Error()
		}
		return "ok"
	}
	e.dead = e.p.TakeDead(e.dead[:0])
	var b strings.Builder
	for _, ds := range e.dead {
		fmt.Fprintf(&b, "%s/%s: %s\n", ds.Dest, ds.Group, fmtSeqs(ds.Seqs))
		if td.HasArg("drop") {
			continue // the record is lost on its way to the log
		}
		r := Record{Type: RecordDeadLetterFrom, Time: t, Dest: ds.Dest, Group: ds.Group, Seqs: ds.Seqs,
			Attempts: ds.Attempts, Reason: ReasonMaxDeliver}
		if _, err := e.apply(&r); err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
		}
	}
	if b.Len() == 0 {
		return "(none)"
	}
	return b.String()
}

func (e *env) cmdExpire(td *datadriven.TestData) string {
	return fmt.Sprintf("expired=%d", e.p.ExpireAge(e.timeArg(td, "now")))
}

func (e *env) cmdSweep(td *datadriven.TestData) string {
	e.p.Sweep(e.timeArg(td, "now"))
	return "ok"
}

func (e *env) cmdNextDeadline(td *datadriven.TestData) string {
	t, ok := e.p.NextDeadline()
	if !ok {
		return "none"
	}
	return fmtSecs(t)
}

func (e *env) cmdLookup(td *datadriven.TestData) string {
	var b strings.Builder
	dest := []byte(str(td, "dest", "q"))
	producer := uint64(e.intArg(td, "producer", 0))
	for _, n := range list(e.t, str(td, "ids", "")) {
		if seq, ok := e.p.Lookup(dest, td.HasArg("producer"), producer, testID(n)); ok {
			fmt.Fprintf(&b, "%s: seq=%d\n", n, seq)
		} else {
			fmt.Fprintf(&b, "%s: absent\n", n)
		}
	}
	return b.String()
}

func (e *env) cmdSnapshotRestore(td *datadriven.TestData) string {
	snap := e.p.Snapshot(nil)
	if n := e.p.SnapshotLen(); n != len(snap) {
		e.t.Fatalf("SnapshotLen %d, snapshot of %d bytes", n, len(snap))
	}
	if m := e.opts.Memory; m != nil {
		e.opts.Memory = NewBudget(m.Limit()) // the old partition is dropped, not freed
	}
	q, err := New(e.p.ID(), e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.log.trim(e.p.KeepFrom())
	if err := q.Restore(snap, e.log.read); err != nil {
		return "error: " + err.Error()
	}
	if again := q.Snapshot(nil); !bytes.Equal(snap, again) {
		e.t.Fatalf("snapshot of the restored partition differs")
	}
	e.p = q
	return fmt.Sprintf("ok: %d bytes", len(snap))
}

func (e *env) cmdStats(td *datadriven.TestData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "retained-bytes=%d\n", e.p.RetainedBytes())
	if m := e.opts.Memory; m != nil {
		fmt.Fprintf(&b, "hot-bytes=%d budget-used=%d keep-from=%d\n", e.p.HotBytes(), m.Used(), e.p.KeepFrom())
	}
	e.p.Destinations(func(d DestStats) {
		fmt.Fprintf(&b, "%s: msgs=%d bytes=%d seqs=%d..%d\n", d.Name, d.Msgs, d.Bytes, d.FirstSeq, d.LastSeq)
		for _, g := range d.Groups {
			fmt.Fprintf(&b, "  %s: floor=%d pending=%d lag=%d\n", g.Name, g.Floor, g.Pending, g.Lag)
		}
	})
	return b.String()
}

// cmdHolders prints how many in-flight deliveries of a group each holder
// (deliver to=N) has.
func (e *env) cmdHolders(td *datadriven.TestData) string {
	n := map[uint64]int{}
	e.p.Holders([]byte(str(td, "dest", "q")), []byte(str(td, "group", "g")), func(h uint64) { n[h]++ })
	if len(n) == 0 {
		return "(none)"
	}
	var b strings.Builder
	for _, h := range slices.Sorted(maps.Keys(n)) {
		fmt.Fprintf(&b, "%d: %d\n", h, n[h])
	}
	return b.String()
}

func (e *env) cmdState(td *datadriven.TestData) string {
	p := e.p
	var b strings.Builder
	fmt.Fprintf(&b, "applied=%d time=%s window=%d\n", p.applied, fmtSecs(p.lastTime), p.window.Len())
	if st := p.DedupeStats(); st.Producers > 0 || st.ProducersEvicted > 0 || st.IDsEvicted > 0 {
		fmt.Fprintf(&b, "ids-evicted=%d producers-evicted=%d sessions (least recently used first):", st.IDsEvicted, st.ProducersEvicted)
		for ss := p.sessions.tail; ss != nil; ss = ss.prev {
			fmt.Fprintf(&b, " %d(keys=%d used=%s)", ss.producer, ss.w.Len(), fmtSecs(ss.last))
		}
		b.WriteByte('\n')
	}
	for _, d := range p.order {
		var live []uint64
		for i := 0; i < d.slots.len(); i++ {
			if s := d.slots.at(i); s.live() {
				live = append(live, s.seq)
			}
		}
		fmt.Fprintf(&b, "%s: last=%d retained=%s", d.name, d.lastSeq, fmtSeqs(live))
		for _, seq := range live {
			if o, ok := d.origins[seq]; ok {
				fmt.Fprintf(&b, " %d<%s/%d(attempts=%d,reason=%d", seq, o.Group, o.Seq, o.Attempts, o.Reason)
				if o.Note != "" {
					fmt.Fprintf(&b, ",note=%q", o.Note)
				}
				b.WriteByte(')')
			}
		}
		if d.expiredTo > d.firstSeq() {
			fmt.Fprintf(&b, " expired<%d", d.expiredTo)
		}
		if d.deleted {
			b.WriteString(" deleted")
		}
		if !d.cfg.IsZero() {
			fmt.Fprintf(&b, " config=%s/%d/%d/%s", d.cfg.Retention, d.cfg.MaxMsgs, d.cfg.MaxBytes, fmtSecs(int64(d.cfg.MaxAge)))
		}
		b.WriteByte('\n')
		for _, g := range d.order {
			writeGroup(&b, g)
		}
	}
	return b.String()
}

func writeGroup(b *strings.Builder, g *group) {
	fmt.Fprintf(b, "  %s: floor=%d next=%d done-above=%s\n", g.name, g.floor, max(g.next, g.floor), fmtSpans(g.spans))
	for i := 0; i < g.pend.len(); i++ {
		p := g.pend.at(i)
		if p.state == pendNone {
			continue
		}
		fmt.Fprintf(b, "    %d: attempt=%d deadline=%s", p.seq, p.attempt, fmtSecs(p.deadline))
		if p.state == pendDead {
			b.WriteString(" dead")
		}
		b.WriteByte('\n')
	}
}

// fmtSpans prints ranges as 3,5-9.
func fmtSpans(spans []span) string {
	if len(spans) == 0 {
		return "-"
	}
	parts := make([]string, len(spans))
	for i, s := range spans {
		parts[i] = strconv.FormatUint(s.lo, 10)
		if s.hi > s.lo {
			parts[i] += "-" + strconv.FormatUint(s.hi, 10)
		}
	}
	return strings.Join(parts, ",")
}
