package queue

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("queue.seed", 0, "seed of TestRandomized (0: from the clock)")

// TestRandomized drives partitions with random records and queries and
// checks: determinism (a partition that only applies the records, and one
// restored from a snapshot now and then, have byte-identical snapshots and
// results), that an acknowledged seq is never delivered again to its
// group, attempt counting, and that after draining every message was
// delivered to every group until acknowledged.
func TestRandomized(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -queue.seed=%d)", seed, seed)
	runs, steps := 12, 1500
	if testing.Short() {
		runs, steps = 3, 500
	}
	for i := 0; i < runs; i++ {
		s := seed + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			sim := newSim(t, s, simOptions(s))
			for j := 0; j < steps; j++ {
				sim.step()
			}
			sim.drain()
		})
	}
}

func simOptions(seed uint64) Options {
	r := rand.New(rand.NewPCG(seed, 1))
	o := Options{AckTimeout: 5 * time.Second, MaxDeliver: -1}
	if r.IntN(2) == 0 {
		o.MaxDeliver = 3
	}
	if r.IntN(3) == 0 {
		o.MaxMsgs = 15
	}
	if r.IntN(3) == 0 {
		o.MaxAge = 40 * time.Second
	}
	if r.IntN(2) == 0 {
		o.DedupeMax, o.DedupeWindow = 30, 20*time.Second
	}
	if r.IntN(2) == 0 {
		o.ProducerWindow, o.MaxProducers, o.MaxProducerKeys, o.ProducerIdle = 4, 2, 12, 30*time.Second
	}
	return o
}

type dgKey struct{ d, g string }

// simGroup is the model of one group.
type simGroup struct {
	done      map[uint64]bool // acknowledged or dead-lettered
	delivered map[uint64]bool
	attempts  map[uint64]uint32 // deliveries since the last restart
	inflight  []uint64
	from      uint64 // seqs above it were stored after the group existed
}

// sim holds a (queried), b (records only) and c (records only, replaced
// by a restore of a's snapshot now and then) and the model.
type sim struct {
	t       testing.TB
	rng     *rand.Rand
	opts    Options
	a, b, c *Partition
	index   uint64
	log     testLog
	now     int64
	groups  map[dgKey]*simGroup
	ids     map[string]map[uint64][16]byte // dest → seq → id
	snap    [2][]byte
	// lossy: a destination runs with limits retention, which drops
	// messages no group acknowledged (drain cannot check delivery).
	lossy bool
}

var simDests = []string{"a", "b", "a.dlq"}

func newSim(t testing.TB, seed uint64, o Options) *sim {
	s := &sim{t: t, rng: rand.New(rand.NewPCG(seed, 2)), opts: o,
		groups: map[dgKey]*simGroup{}, ids: map[string]map[uint64][16]byte{}, log: testLog{}}
	s.a, s.b, s.c = s.fresh(), s.fresh(), s.fresh()
	return s
}

// simPartition is the partition number of the simulated partitions.
const simPartition = 7

func (s *sim) fresh() *Partition {
	o := s.opts
	// A random memory budget: which messages stay in memory must never
	// change results or snapshots.
	switch s.rng.IntN(3) {
	case 0:
		o.Memory = NewBudget(0)
	case 1:
		o.Memory = NewBudget(int64(s.rng.IntN(2000)))
	}
	p, err := New(simPartition, o)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// restored returns a new partition restored from p's snapshot.
func (s *sim) restored(p *Partition) *Partition {
	q := s.fresh()
	// The node trims the log below KeepFrom once the snapshot is stored:
	// nothing the restored partition (or the others) reads may be there.
	s.log.trim(p.KeepFrom())
	if err := q.Restore(p.Snapshot(nil), s.log.read); err != nil {
		s.t.Fatalf("restore: %v", err)
	}
	return q
}

// apply applies r to all three partitions and checks they agree.
func (s *sim) apply(r *Record) []Result {
	s.index++
	s.log.add(s.index, r)
	ra, err := s.a.Apply(s.index, r, nil)
	if err != nil {
		s.t.Fatalf("apply %d: %v", s.index, err)
	}
	for _, p := range []*Partition{s.b, s.c} {
		rp, err := p.Apply(s.index, r, nil)
		if err != nil || !slices.Equal(ra, rp) {
			s.t.Fatalf("apply %d: results differ: %v %v, %v", s.index, ra, rp, err)
		}
	}
	s.snap[0] = s.a.Snapshot(s.snap[0][:0])
	if n := s.a.SnapshotLen(); n != len(s.snap[0]) {
		s.t.Fatalf("apply %d: SnapshotLen %d, snapshot of %d bytes", s.index, n, len(s.snap[0]))
	}
	for _, p := range []*Partition{s.b, s.c} {
		s.snap[1] = p.Snapshot(s.snap[1][:0])
		if !bytes.Equal(s.snap[0], s.snap[1]) {
			s.t.Fatalf("apply %d: snapshots differ", s.index)
		}
	}
	return ra
}

// recTime is the time of the next record: now, sometimes a little behind.
func (s *sim) recTime() int64 {
	if s.rng.IntN(5) == 0 {
		return s.now - int64(s.rng.IntN(3))*int64(time.Second)
	}
	return s.now
}

func (s *sim) step() {
	s.now += int64(s.rng.IntN(1500)) * int64(time.Millisecond)
	switch n := s.rng.IntN(100); {
	case n < 30:
		s.publish()
	case n < 33:
		s.createGroup()
	case n < 60:
		s.deliver(s.randGroup(), 1+s.rng.IntN(10))
	case n < 80:
		s.ack()
	case n < 85:
		s.nack()
	case n < 91:
		s.deadLetter(s.rng.IntN(4) != 0)
	case n < 95:
		s.a.ExpireAge(s.now)
	case n < 97:
		s.restart()
	case n < 98:
		s.c = s.restored(s.a)
	default:
		s.admin()
	}
}

func (s *sim) publish() {
	dest := simDests[s.rng.IntN(2)]
	n := 1 + s.rng.IntN(5)
	var raw []byte
	ids := make([][16]byte, n)
	typ, producer := RecordMessages, uint64(1)
	if s.rng.IntN(2) == 0 { // in one of a few producer sessions
		typ, producer = RecordSessionMessages, uint64(1+s.rng.IntN(3))
	}
	for i := range ids {
		ids[i] = testID(fmt.Sprintf("m%d", s.rng.IntN(300)))
		raw = appendProducerMsg(raw, ids[i], s.now, producer, []byte(dest))
	}
	res := s.apply(&Record{Type: typ, Time: s.recTime(), Dest: []byte(dest), Count: uint32(n), Raw: raw})
	for i, r := range res {
		if r.Code == CodeOK && !r.Duplicate {
			if s.ids[dest] == nil {
				s.ids[dest] = map[uint64][16]byte{}
			}
			s.ids[dest][r.Seq] = ids[i]
		}
	}
}

func (s *sim) createGroup() {
	k := dgKey{simDests[s.rng.IntN(len(simDests))], fmt.Sprintf("g%d", s.rng.IntN(2))}
	s.apply(&Record{Type: RecordGroupCreate, Time: s.recTime(), Dest: []byte(k.d), Group: []byte(k.g)})
	if s.groups[k] == nil {
		s.groups[k] = &simGroup{done: map[uint64]bool{}, delivered: map[uint64]bool{},
			attempts: map[uint64]uint32{}, from: s.a.dest([]byte(k.d)).lastSeq}
	}
}

// randGroup returns a created group, or now and then one that is not.
func (s *sim) randGroup() dgKey {
	keys := s.groupKeys()
	if len(keys) == 0 || s.rng.IntN(20) == 0 {
		return dgKey{simDests[s.rng.IntN(len(simDests))], "nope"}
	}
	return keys[s.rng.IntN(len(keys))]
}

func (s *sim) groupKeys() []dgKey {
	keys := make([]dgKey, 0, len(s.groups))
	for k := range s.groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y dgKey) int {
		return cmpKeys(x.d+"/"+x.g, y.d+"/"+y.g)
	})
	return keys
}

func cmpKeys(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

// deliver fetches for k and checks every delivery against the model.
func (s *sim) deliver(k dgKey, max int) int {
	ds, err := s.a.Deliver([]byte(k.d), []byte(k.g), max, s.now, nil)
	g := s.groups[k]
	if g == nil {
		if !errors.Is(err, ErrUnknownGroup) {
			s.t.Fatalf("deliver to unknown group %v: %v", k, err)
		}
		return 0
	}
	if err != nil || len(ds) > max {
		s.t.Fatalf("deliver %v: %d deliveries, %v", k, len(ds), err)
	}
	s.log.resolve(s.t, ds)
	for _, d := range ds {
		if g.done[d.Seq] {
			s.t.Fatalf("%v: seq %d delivered after it was acknowledged", k, d.Seq)
		}
		g.attempts[d.Seq]++
		if d.Attempt != g.attempts[d.Seq] {
			s.t.Fatalf("%v: seq %d attempt %d, want %d", k, d.Seq, d.Attempt, g.attempts[d.Seq])
		}
		if id, ok := s.ids[k.d][d.Seq]; ok && msgID(d.Msg) != id {
			s.t.Fatalf("%v: seq %d carries the wrong message", k, d.Seq)
		}
		if !g.delivered[d.Seq] || !slices.Contains(g.inflight, d.Seq) {
			g.inflight = append(g.inflight, d.Seq)
		}
		g.delivered[d.Seq] = true
	}
	return len(ds)
}

// pick removes and returns a random subset of g's in-flight seqs.
func (s *sim) pick(g *simGroup) []uint64 {
	var out, keep []uint64
	for _, seq := range g.inflight {
		if s.rng.IntN(2) == 0 {
			out = append(out, seq)
		} else {
			keep = append(keep, seq)
		}
	}
	g.inflight = keep
	return out
}

func (s *sim) ack() {
	k := s.randGroup()
	var seqs []uint64
	if g := s.groups[k]; g != nil {
		seqs = s.pick(g)
	}
	if s.rng.IntN(4) == 0 {
		seqs = append(seqs, uint64(s.rng.IntN(40)))
	}
	s.ackSeqs(k, seqs)
}

func (s *sim) ackSeqs(k dgKey, seqs []uint64) {
	r := Record{Type: RecordAck, Time: s.recTime(), Dest: []byte(k.d), Group: []byte(k.g), Seqs: seqs}
	if s.rng.IntN(4) == 0 { // a TERM: done for the group like an ack
		r.Type, r.Note = RecordTerminate, []byte("gave up")
	}
	s.apply(&r)
	s.markDone(k, seqs)
}

// markDone applies the ack rule to the model: seqs already assigned
// become done.
func (s *sim) markDone(k dgKey, seqs []uint64) {
	g, d := s.groups[k], s.a.dest([]byte(k.d))
	if g == nil || d == nil {
		return
	}
	for _, seq := range seqs {
		if seq <= d.lastSeq {
			g.done[seq] = true
		}
	}
}

func (s *sim) nack() {
	k := s.randGroup()
	if g := s.groups[k]; g != nil {
		seqs := s.pick(g)
		if s.rng.IntN(3) == 0 { // PROGRESS: deadlines move, nothing else
			s.a.Progress([]byte(k.d), []byte(k.g), seqs, s.now)
		} else {
			s.a.Nack([]byte(k.d), []byte(k.g), seqs, time.Duration(s.rng.IntN(3))*time.Second, s.now)
		}
		g.inflight = append(g.inflight, seqs...)
	}
}

// deadLetter takes the dead sets and applies them (or loses them).
func (s *sim) deadLetter(apply bool) int {
	sets := s.a.TakeDead(nil)
	for _, ds := range sets {
		if s.opts.MaxDeliver < 0 || isDLQ(ds.Dest) {
			s.t.Fatalf("dead set %s/%s without MaxDeliver", ds.Dest, ds.Group)
		}
		if apply {
			r := Record{Type: RecordDeadLetter, Time: s.recTime(), Dest: ds.Dest, Group: ds.Group, Seqs: ds.Seqs}
			if s.rng.IntN(2) == 0 { // with origins
				r.Type, r.Attempts, r.Reason = RecordDeadLetterFrom, ds.Attempts, ReasonMaxDeliver
			}
			s.apply(&r)
			s.markDone(dgKey{string(ds.Dest), string(ds.Group)}, ds.Seqs)
		}
	}
	return len(sets)
}

// restart replaces a by a restore of its snapshot: volatile state is lost.
func (s *sim) restart() {
	s.a = s.restored(s.a)
	for _, g := range s.groups {
		clear(g.attempts)
		g.inflight = nil
	}
}

// drain delivers and acknowledges until nothing is left, then checks that
// every group is done with everything and got every message stored after
// it existed (unless MaxAge may have expired some).
func (s *sim) drain() {
	for round := 0; ; round++ {
		if round == 1000 {
			s.t.Fatal("drain does not converge")
		}
		s.now += int64(s.opts.AckTimeout) + int64(time.Second)
		progress := s.deadLetter(true)
		for _, k := range s.groupKeys() {
			if s.deliver(k, 1000) > 0 {
				progress++
				g := s.groups[k]
				s.ackSeqs(k, g.inflight)
				g.inflight = nil
			}
		}
		// A delivery that came due exhausted was queued by Deliver
		// (whose dead-letter record was lost before): log it now.
		progress += s.deadLetter(true)
		if progress == 0 {
			break
		}
	}
	if s.opts.MaxAge > 0 || s.lossy {
		return
	}
	for _, k := range s.groupKeys() {
		d := s.a.dest([]byte(k.d))
		g := s.groups[k]
		if lag := d.group([]byte(k.g)).lag(d.lastSeq); lag != 0 {
			s.t.Fatalf("%v: lag %d after draining", k, lag)
		}
		for seq := g.from + 1; seq <= d.lastSeq; seq++ {
			if !g.delivered[seq] && !g.done[seq] {
				s.t.Fatalf("%v: seq %d was never delivered", k, seq)
			}
		}
	}
}
