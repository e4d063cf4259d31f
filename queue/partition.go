package queue

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
)

// Partition is the state machine of one partition: destinations, their
// retained messages and groups, and the dedupe window, all derived from
// the records applied so far, plus the volatile delivery state.
//
// A Partition is not safe for concurrent use: one goroutine owns it. The
// exceptions are Lookup and its Window's Lookup, which may run on other
// goroutines.
type Partition struct {
	id       uint32
	opts     Options
	applied  uint64 // index of the last applied record
	lastTime int64  // newest applied record Time
	dests    map[string]*dest
	order    []*dest   // sorted by name
	window   *Window   // application ids (RecordMessages)
	sessions *sessions // producer sessions (RecordSessionMessages)
	hot      *hotSet   // records kept in memory
	// seed keys the hashes of the dedupe windows' keys (Window.keyHash);
	// random, so keys chosen by a client cannot be made to collide.
	seed maphash.Seed
	// ageDue is a lower bound of the record time after which the oldest
	// message of some destination is older than its MaxAge, so Apply
	// sweeps for MaxAge only when one may be due.
	ageDue int64

	// Volatile state.
	now  int64     // newest `now` passed to a query
	dead []deadRef // exhausted deliveries not yet taken by TakeDead
}

// Result is the outcome of one message of a RecordMessages record, or of
// one seq of a RecordAck or RecordDeadLetter record. A plain value.
type Result struct {
	Code      uint16 // CodeOK or CodeDestinationFull
	Seq       uint64 // the message's seq (the original one for a duplicate)
	Duplicate bool   // the id was in the dedupe window: not stored again
	// Count is, for an admin record, the messages it dropped (a purge or a
	// delete) or moved (a replay); see applyAdmin. For a seq of a
	// RecordTerminate it is 1 if this record terminated it, 0 if it was
	// ignored (done already, unknown).
	Count uint64
}

// New returns an empty partition. opts gets its defaults and is validated.
func New(partition uint32, opts Options) (*Partition, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create partition %d: %w", partition, err)
	}
	seed := maphash.MakeSeed()
	return &Partition{
		id:       partition,
		opts:     opts,
		dests:    make(map[string]*dest),
		window:   newWindow(int64(opts.DedupeWindow), opts.DedupeMax, seed),
		sessions: newSessions(&opts, seed),
		seed:     seed,
		hot:      newHotSet(opts.Memory),
		ageDue:   math.MaxInt64,
	}, nil
}

// ID returns the partition number given to New.
func (p *Partition) ID() uint32 { return p.id }

// Window returns the partition's dedupe window of application ids.
func (p *Partition) Window() *Window { return p.window }

// Lookup returns the seq stored for message id in destination dest, if it
// is remembered: in producer's session when session is true, else among
// the application ids. It is safe for concurrent use with Apply (the
// dedupe stage answers retries with it before they are written).
func (p *Partition) Lookup(dest []byte, session bool, producer uint64, id [16]byte) (uint64, bool) {
	if session {
		return p.sessions.lookup(producer, dest, id)
	}
	return p.window.Lookup(dest, id)
}

// DedupeStats describes the partition's dedupe state. A plain value.
type DedupeStats struct {
	IDs          int    // application ids remembered
	IDsEvicted   uint64 // application ids the count bound dropped before DedupeWindow
	Producers    int    // producer sessions remembered
	ProducerKeys int    // their keys
	// ProducersEvicted counts sessions dropped by MaxProducers or
	// MaxProducerKeys before ProducerIdle.
	ProducersEvicted uint64
}

// DedupeStats returns the partition's dedupe counters. Owner only.
func (p *Partition) DedupeStats() DedupeStats {
	return DedupeStats{
		IDs:              p.window.size(),
		IDsEvicted:       p.window.evicted,
		Producers:        p.sessions.count(),
		ProducerKeys:     p.sessions.keys,
		ProducersEvicted: p.sessions.evicted,
	}
}

// AppliedIndex returns the index of the last applied record (0 if none).
func (p *Partition) AppliedIndex() uint64 { return p.applied }

// RetainedBytes returns the wire bytes (headers included) of every message
// the partition retains.
func (p *Partition) RetainedBytes() int64 {
	var n int64
	for _, d := range p.order {
		n += d.wire
	}
	return n
}

// RetainedMsgs returns the number of messages the partition retains.
func (p *Partition) RetainedMsgs() int64 {
	var n int64
	for _, d := range p.order {
		n += d.msgs
	}
	return n
}

// HotBytes returns the bytes of the records the partition keeps in memory
// (see Budget).
func (p *Partition) HotBytes() int64 { return p.hot.bytes() }

// KeepFrom returns the lowest log index that a retained message or a key
// of a dedupe window (application ids or a producer session) points at, or AppliedIndex+1 if none does: the log
// entries below it are not needed, and may be trimmed once a snapshot at
// AppliedIndex is stored (Restore reads the window's ids back from the
// log). It reads the front of each destination, plus every message of
// ".dlq" destinations (whose copies point at older records).
func (p *Partition) KeepFrom() uint64 {
	from := p.applied + 1
	if e, ok := p.window.oldest(); ok {
		from = min(from, e.loc.Index)
	}
	from = p.sessions.oldestIndex(from)
	for _, d := range p.order {
		if d.slots.len() == 0 {
			continue
		}
		if !d.dlq && !d.unordered {
			from = min(from, d.slots.at(0).loc.Index)
			continue
		}
		for i := 0; i < d.slots.len(); i++ {
			if s := d.slots.at(i); s.live() {
				from = min(from, s.loc.Index)
			}
		}
	}
	return from
}

// Apply applies record r, which is entry index of the partition log, and
// appends its results to res: one per message of a RecordMessages record,
// one per seq of a RecordAck or RecordDeadLetter record, none for a
// RecordGroupCreate, one for each admin record (RecordDestConfig to
// RecordReplay, see applyAdmin). index must be above AppliedIndex (ErrStaleIndex);
// a malformed record returns an error wrapping ErrCorrupt and changes
// nothing. Apply is deterministic: it uses r.Time, never a clock, and its
// outcome does not depend on any query (Deliver, Nack, ExpireAge...).
func (p *Partition) Apply(index uint64, r *Record, res []Result) ([]Result, error) {
	if index <= p.applied {
		return res, fmt.Errorf("%w: index %d, applied %d", ErrStaleIndex, index, p.applied)
	}
	if err := p.check(r); err != nil {
		return res, fmt.Errorf("cannot apply record %d: %w", index, err)
	}
	p.advanceTime(r.Time)
	switch r.Type {
	case RecordMessages, RecordSessionMessages:
		res = p.applyMessages(index, r, res)
	case RecordAck:
		res = p.applyAck(r, res)
	case RecordGroupCreate:
		p.applyGroupCreate(r)
	case RecordDeadLetter, RecordDeadLetterFrom, RecordTerminate:
		res = p.applyDeadLetter(r, res)
	default:
		res = p.applyAdmin(r, res)
	}
	p.applied = index
	return res, nil
}

// check validates r before anything is changed.
func (p *Partition) check(r *Record) error {
	if len(r.Dest) == 0 || len(r.Dest) > 0xffff || len(r.Group) > 0xffff {
		return corruptf("%s record: bad destination or group length", r.Type)
	}
	switch r.Type {
	case RecordMessages, RecordSessionMessages:
		return checkMessages(r.Raw, r.Count)
	case RecordAck, RecordGroupCreate, RecordTerminate:
	case RecordDeadLetter, RecordDeadLetterFrom:
		if isDLQ(r.Dest) {
			return corruptf("dead-letter record for dead-letter destination %q", r.Dest)
		}
		if r.Type == RecordDeadLetterFrom && len(r.Attempts) != len(r.Seqs) {
			return corruptf("dead-letter record: %d seqs, %d attempts", len(r.Seqs), len(r.Attempts))
		}
	case RecordDestConfig:
		return r.Config.check()
	case RecordDestEdit:
		if r.Flags == 0 || r.Flags&^editAll != 0 {
			return corruptf("dest-edit record: flags %#x", r.Flags)
		}
		return r.Config.check()
	case RecordPurge, RecordDestDelete:
		return nil
	case RecordReplay:
		if isDLQ(r.Dest) {
			return corruptf("replay record for dead-letter destination %q", r.Dest)
		}
		return nil
	case RecordGroupReset:
		if r.Start.Kind < StartEarliest || r.Start.Kind > StartTime || r.Flags&^FlagCreate != 0 {
			return corruptf("group-reset record: start %d, flags %#x", uint8(r.Start.Kind), r.Flags)
		}
	case RecordGroupDelete:
	default:
		return corruptf("unknown record type %d", uint8(r.Type))
	}
	if len(r.Group) == 0 {
		return corruptf("%s record without a group", r.Type)
	}
	return nil
}

// advanceTime moves the partition's record clock to t (it never goes
// back) and expires what the new time makes due: dedupe entries, and
// messages older than MaxAge.
func (p *Partition) advanceTime(t int64) {
	if t > p.lastTime {
		p.lastTime = t
	}
	p.window.expire(p.lastTime)
	p.sessions.expire(p.lastTime)
	if p.ageDue >= p.lastTime {
		return
	}
	p.ageDue = math.MaxInt64
	for _, d := range p.order {
		if d.lim.maxAge > 0 {
			d.expireFront(satSub(p.lastTime, d.lim.maxAge))
		}
		p.noteFront(d)
	}
}

// noteFront lowers ageDue to when d's oldest message expires.
func (p *Partition) noteFront(d *dest) {
	if d.lim.maxAge > 0 && d.slots.len() > 0 {
		p.ageDue = min(p.ageDue, satAdd(d.slots.at(0).time, d.lim.maxAge))
	}
}

// noteStored lowers ageDue for a message stored in d at time t.
func (p *Partition) noteStored(d *dest, t int64) {
	if d.lim.maxAge > 0 {
		p.ageDue = min(p.ageDue, satAdd(t, d.lim.maxAge))
	}
}

// dest returns the destination named name, or nil.
func (p *Partition) dest(name []byte) *dest { return p.dests[string(name)] }

// destOrCreate returns the destination named name, creating it empty.
func (p *Partition) destOrCreate(name []byte) *dest {
	if d := p.dests[string(name)]; d != nil {
		return d
	}
	d := newDest(name, p.seed)
	d.lim = limitsOf(DestConfig{}, &p.opts)
	p.insertDest(d)
	return d
}

// insertDest adds d to the map and the sorted order.
func (p *Partition) insertDest(d *dest) {
	p.dests[d.key] = d
	d.hot = p.hot
	i, _ := slices.BinarySearchFunc(p.order, d.key, func(x *dest, k string) int {
		return strings.Compare(x.key, k)
	})
	p.order = slices.Insert(p.order, i, d)
}

// satSub returns a-b clamped to the int64 range (b >= 0).
func satSub(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// satAdd returns a+b clamped to the int64 range (b >= 0).
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
