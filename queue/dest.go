package queue

import (
	"hash/maphash"
	"slices"
	"strings"

	"github.com/swarmmq/swarmmq/frame"
)

// slot is one message of a destination: where its bytes are in the
// partition log. A slot whose loc.Len is 0 was removed (every group is done
// with it) and waits to be compacted away from the front of the ring.
type slot struct {
	seq  uint64
	time int64 // Time of the record that stored the message
	loc  Loc
}

func (s slot) seqNum() uint64 { return s.seq }

// live reports whether the message is still retained.
func (s *slot) live() bool { return s.loc.Len != 0 }

// dest is one destination: its retained messages in seq order and its
// groups. Not safe for concurrent use (owned by the partition).
//
// Invariants: slots ascend by seq with no duplicate; the front slot, if
// any, is live, so firstSeq is the oldest retained message; lastSeq is the
// last seq ever assigned; msgs/bytes/wire count the live slots.
type dest struct {
	name    []byte
	key     string
	h       uint64 // name hashed with the partition's seed (dedupe keys)
	dlq     bool   // name ends in ".dlq": its messages are never dead-lettered
	lastSeq uint64
	slots   ring[slot]
	msgs    int64 // live messages
	bytes   int64 // their payload bytes (what MaxBytes limits)
	wire    int64 // their wire bytes
	groups  map[string]*group
	hot     *hotSet  // the partition's in-memory records
	order   []*group // groups sorted by name
	// cfg is the destination's own configuration (RecordDestConfig), lim
	// its effective limits (cfg over the node's Options).
	cfg DestConfig
	lim limits
	// deleted: a RecordDestDelete emptied the destination and nothing
	// used it since. It is kept (hidden from Destinations) so that its
	// seqs never repeat and the dedupe windows' keys stay its own.
	deleted bool
	// unordered: some message points at an older log record than the one
	// before it (moved back by RecordReplay), so KeepFrom reads them all.
	// Derived from the slots (restoreSlots finds it again).
	unordered bool
	lastIndex uint64 // the highest log index a message was stored from
	// origins, on a ".dlq" destination, says where each retained copy
	// stored by a RecordDeadLetterFrom came from, by its seq here.
	origins map[uint64]DeadLetterOrigin

	// expiredTo is volatile: every seq below it was found older than
	// MaxAge at some `now` and is no longer delivered.
	expiredTo uint64
}

func newDest(name []byte, seed maphash.Seed) *dest {
	key := string(name)
	return &dest{
		name:   []byte(key),
		key:    key,
		h:      maphash.String(seed, key),
		dlq:    isDLQ(name),
		groups: make(map[string]*group),
	}
}

// dlqSuffix names the dead-letter destination of a destination; names are
// defined in frame.
const dlqSuffix = frame.DeadLetterSuffix

func isDLQ(name []byte) bool { return frame.IsDeadLetter(name) }

// firstSeq returns the seq of the oldest retained message, or lastSeq+1.
func (d *dest) firstSeq() uint64 {
	if d.slots.len() > 0 {
		return d.slots.at(0).seq
	}
	return d.lastSeq + 1
}

// store appends the message at l under the next seq. The caller counts
// the reference to l's record (hotSet.keep or ref).
func (d *dest) store(l Loc, t int64) uint64 {
	if l.Index < d.lastIndex {
		d.unordered = true
	}
	d.lastIndex = max(d.lastIndex, l.Index)
	d.lastSeq++
	d.slots.push(slot{seq: d.lastSeq, time: t, loc: l})
	d.account(l, 1)
	return d.lastSeq
}

// account adds (sign 1) or subtracts (sign -1) the message at l to the
// counters.
func (d *dest) account(l Loc, sign int64) {
	d.msgs += sign
	d.bytes += sign * int64(int(l.Len)-msgHeaderSize)
	d.wire += sign * int64(l.Len)
}

// slot returns the live slot of seq, or nil.
func (d *dest) slot(seq uint64) *slot {
	if i := seqFind(&d.slots, seq); i >= 0 && d.slots.at(i).live() {
		return d.slots.at(i)
	}
	return nil
}

// DeadLetterOrigin says where a message of a ".dlq" destination came
// from: the group that gave up on it, its seq in the destination, the
// deliveries it had (0 when a consumer terminated it: the log does not
// know) and why (ReasonMaxDeliver, ReasonTerminated with the consumer's
// Note). A plain value.
type DeadLetterOrigin struct {
	Group    string
	Seq      uint64
	Attempts uint32
	Reason   uint8
	Note     string
}

// setOrigin records where message seq of d came from.
func (d *dest) setOrigin(seq uint64, o DeadLetterOrigin) {
	if d.origins == nil {
		d.origins = make(map[uint64]DeadLetterOrigin)
	}
	d.origins[seq] = o
}

// drop forgets the live message of s: counters, its record's reference,
// its origin.
func (d *dest) drop(s *slot) {
	if d.origins != nil {
		delete(d.origins, s.seq)
	}
	d.account(s.loc, -1)
	d.hot.unref(s.loc.Index)
	s.loc = Loc{}
}

// remove drops message seq once every group is done with it.
func (d *dest) remove(seq uint64) {
	s := d.slot(seq)
	if s == nil {
		return
	}
	d.drop(s)
	for d.slots.len() > 0 && !d.slots.at(0).live() {
		d.slots.popFront()
	}
}

// doneByAll reports whether every group (at least one) is done with seq.
func (d *dest) doneByAll(seq uint64) bool {
	for _, g := range d.order {
		if !g.has(seq) {
			return false
		}
	}
	return len(d.order) > 0
}

// expireFront drops the messages at the front stored before limit (in
// seq order: a message waits behind a younger one) and raises the group
// floors past them. It returns whether anything was dropped.
func (d *dest) expireFront(limit int64) bool {
	dropped := false
	for d.slots.len() > 0 {
		s := d.slots.at(0)
		if s.live() {
			if s.time >= limit {
				break
			}
			d.drop(s)
		}
		d.slots.popFront()
		dropped = true
	}
	if dropped {
		first := d.firstSeq()
		for _, g := range d.order {
			g.raiseFloor(first)
		}
	}
	return dropped
}

// dropFront drops the oldest retained message (limits retention making
// room) and raises the group floors past it.
func (d *dest) dropFront() {
	d.drop(d.slots.at(0))
	for d.slots.len() > 0 && !d.slots.at(0).live() {
		d.slots.popFront()
	}
	first := d.firstSeq()
	for _, g := range d.order {
		g.raiseFloor(first)
	}
}

// firstLiveFrom returns the index of the first live slot with seq >= seq.
func (d *dest) firstLiveFrom(seq uint64) int {
	i := seqIndex(&d.slots, seq)
	for i < d.slots.len() && !d.slots.at(i).live() {
		i++
	}
	return i
}

// group returns the group named name, or nil.
func (d *dest) group(name []byte) *group { return d.groups[string(name)] }

// addGroup creates group name starting at the oldest retained message.
// Seqs already removed between there and lastSeq count as done for it.
func (d *dest) addGroup(name []byte) *group {
	g := newGroup(name, d.firstSeq())
	g.spans = d.removedFrom(g.floor)
	g.countAcked()
	d.insertGroup(g)
	return g
}

// insertGroup adds g to the map and the sorted order.
func (d *dest) insertGroup(g *group) {
	d.groups[g.key] = g
	i, _ := slices.BinarySearchFunc(d.order, g.key, func(x *group, k string) int {
		return strings.Compare(x.key, k)
	})
	d.order = slices.Insert(d.order, i, g)
}
