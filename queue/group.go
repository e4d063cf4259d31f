package queue

import (
	"slices"
	"sort"
)

// span is an inclusive range of seqs.
type span struct{ lo, hi uint64 }

// pendState is the volatile state of one delivered, unacknowledged seq.
type pendState uint8

const (
	pendNone pendState = iota // acked, expired or dropped: skip it
	pendWait                  // delivered, waiting for its ack
	pendDead                  // handed out by TakeDead, waiting for its DeadLetter record
)

// pending is one in-flight delivery of a group.
type pending struct {
	seq      uint64
	deadline int64 // redelivery (or dead-letter retry) time, unix ns
	attempt  uint32
	state    pendState
	queued   bool   // in Partition.dead, not yet taken by TakeDead
	back     bool   // given back (NACK, release) and not delivered again since
	progress uint8  // deadline pushes out by Progress since the last delivery
	holder   uint64 // who it was last delivered to (DeliverTo), opaque here
}

func (e pending) seqNum() uint64 { return e.seq }

// group is a consumer group on one destination. Not safe for concurrent
// use (owned by the partition).
//
// Durable part (derived from records, in the snapshot): floor, every seq
// below it is done (acknowledged, dead-lettered or dropped); spans, the
// done seqs above floor (sorted, disjoint, never adjacent, all > floor).
//
// Volatile part (rebuilt by deliveries, lost at restart): next, the lowest
// seq never delivered; pend, the in-flight deliveries in seq order;
// timers, their deadlines for NextDeadline.
type group struct {
	name  []byte
	key   string
	floor uint64
	spans []span
	acked uint64 // seqs in spans

	next     uint64
	pend     ring[pending]
	inflight int // entries of pend not pendNone
	timers   timers
	hasDue   bool // some entry's deadline was seen to pass: Deliver must scan

	// Counters since the partition was loaded (volatile, not in the
	// snapshot, kept by a reset): deliveries with attempt > 1, and seqs
	// dead-lettered by an applied record.
	redelivered, deadLettered uint64
}

func newGroup(name []byte, floor uint64) *group {
	key := string(name)
	return &group{name: []byte(key), key: key, floor: floor, next: floor}
}

// spanIndex returns the index of the first span with hi >= seq.
func (g *group) spanIndex(seq uint64) int {
	return sort.Search(len(g.spans), func(i int) bool { return g.spans[i].hi >= seq })
}

// has reports whether the group is done with seq.
func (g *group) has(seq uint64) bool {
	if seq < g.floor {
		return true
	}
	if len(g.spans) == 0 {
		return false
	}
	i := g.spanIndex(seq)
	return i < len(g.spans) && g.spans[i].lo <= seq
}

// markDone records that the group is done with seq; seq >= floor and
// !has(seq).
func (g *group) markDone(seq uint64) {
	if seq == g.floor {
		g.floor++
		if len(g.spans) > 0 && g.spans[0].lo == g.floor {
			g.acked -= g.spans[0].hi - g.spans[0].lo + 1
			g.floor = g.spans[0].hi + 1
			g.spans = g.spans[1:]
		}
		return
	}
	g.acked++
	i := g.spanIndex(seq) // spans[i].lo > seq: seq is not in a span
	left := i > 0 && g.spans[i-1].hi+1 == seq
	right := i < len(g.spans) && g.spans[i].lo == seq+1
	switch {
	case left && right:
		g.spans[i-1].hi = g.spans[i].hi
		g.spans = slices.Delete(g.spans, i, i+1)
	case left:
		g.spans[i-1].hi = seq
	case right:
		g.spans[i].lo = seq
	default:
		g.spans = slices.Insert(g.spans, i, span{seq, seq})
	}
}

// raiseFloor moves floor up to first (the destination dropped everything
// below it) and drops the in-flight deliveries below the new floor.
func (g *group) raiseFloor(first uint64) {
	if first <= g.floor {
		return
	}
	i := 0
	for i < len(g.spans) && g.spans[i].hi < first {
		i++
	}
	g.spans = g.spans[i:]
	g.floor = first
	if len(g.spans) > 0 && g.spans[0].lo <= first {
		g.floor = g.spans[0].hi + 1
		g.spans = g.spans[1:]
	}
	g.countAcked()
	g.dropPendBelow(g.floor)
}

// countAcked recomputes acked from spans.
func (g *group) countAcked() {
	g.acked = 0
	for _, s := range g.spans {
		g.acked += s.hi - s.lo + 1
	}
}

// lag returns the number of seqs up to last the group is not done with.
func (g *group) lag(last uint64) uint64 {
	if last+1 < g.floor {
		return 0
	}
	return last + 1 - g.floor - min(g.acked, last+1-g.floor)
}

// pendAt returns the in-flight entry of seq, or nil.
func (g *group) pendAt(seq uint64) *pending {
	if i := seqFind(&g.pend, seq); i >= 0 {
		return g.pend.at(i)
	}
	return nil
}

// dropPend forgets in-flight delivery e.
func (g *group) dropPend(e *pending) {
	if e.state != pendNone {
		e.state = pendNone
		g.inflight--
	}
}

// settle forgets the in-flight delivery of seq, if any (acked or
// dead-lettered).
func (g *group) settle(seq uint64) {
	if e := g.pendAt(seq); e != nil {
		g.dropPend(e)
		g.trimPend()
	}
}

// trimPend pops settled entries off the front of pend.
func (g *group) trimPend() {
	for g.pend.len() > 0 && g.pend.at(0).state == pendNone {
		g.pend.popFront()
	}
}

// dropPendBelow forgets every in-flight delivery below seq.
func (g *group) dropPendBelow(seq uint64) {
	for g.pend.len() > 0 && g.pend.at(0).seq < seq {
		g.dropPend(g.pend.at(0))
		g.pend.popFront()
	}
	g.trimPend()
}

// setDeadline gives in-flight entry e a new deadline.
func (g *group) setDeadline(e *pending, at int64) {
	e.deadline = at
	g.timers.add(at, e.seq)
}

// nextTimer discards stale timers and those due at now (remembering in
// hasDue that Deliver has work) and returns the earliest future deadline.
func (g *group) nextTimer(now int64) (int64, bool) {
	for {
		t, ok := g.timers.peek()
		if !ok {
			return 0, false
		}
		if e := g.pendAt(t.seq); e == nil || e.state == pendNone || e.deadline != t.at {
			g.timers.pop()
			continue
		}
		if t.at <= now {
			g.hasDue = true
			g.timers.pop()
			continue
		}
		return t.at, true
	}
}
