package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"math"
	"slices"
)

// snapMagic starts every snapshot; SnapshotVersion follows it.
const snapMagic = "SMQS"

// SnapshotVersion is the snapshot format version.
const SnapshotVersion = 6

// snapshotVersionNoNotes is the previous version, which Restore still
// reads: its dead-letter origins have no note.
const snapshotVersionNoNotes = 5

// SnapshotMsgBytes is what one retained message adds to a Snapshot.
const SnapshotMsgBytes = snapMsg

// castagnoli is the CRC-32C table (a lookup table, filled once).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Minimum encoded sizes, used to bound counts before allocating.
const (
	minSnapDest  = 2 + 1 + 1 + configSize + 8 + 4 + 4 + 4
	snapMsg      = 8 + 8 + 8 + 4 + 4
	minSnapGroup = 2 + 1 + 8 + 4
	minSnapSpan  = 16
	snapWinRun   = 8 + 4 + 4 + 8
	minSnapSess  = 8 + 8 + 4
	// minSnapOrigin is an origin without its group name's bytes.
	minSnapOrigin = 8 + 2 + 8 + 4 + 1
)

// RecordReader returns the encoded log record at index (the bytes Apply's
// caller decoded), for Restore. The returned bytes are only read.
type RecordReader func(index uint64) ([]byte, error)

// Snapshot appends the durable state at AppliedIndex to dst and returns
// it. The encoding depends only on the records applied (names sorted,
// window in insertion order), never on queries: deliveries, attempts,
// deadlines, NACK delays and volatile expiry are not in it (doc.go).
//
// dst is grown once to the exact size first: growing a multi-megabyte
// snapshot by appends costs ~35 times the encoding (BenchmarkSnapshot).
func (p *Partition) Snapshot(dst []byte) []byte {
	dst = slices.Grow(dst, p.SnapshotLen())
	start := len(dst)
	dst = append(dst, snapMagic...)
	dst = append(dst, SnapshotVersion)
	dst = binary.BigEndian.AppendUint32(dst, p.id)
	dst = binary.BigEndian.AppendUint64(dst, p.applied)
	dst = binary.BigEndian.AppendUint64(dst, uint64(p.lastTime))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.order)))
	for _, d := range p.order {
		dst = appendSnapDest(dst, d)
	}
	dst = appendSnapWindow(dst, p.window)
	dst = binary.BigEndian.AppendUint32(dst, uint32(p.sessions.count()))
	for ss := p.sessions.tail; ss != nil; ss = ss.prev {
		dst = binary.BigEndian.AppendUint64(dst, ss.producer)
		dst = binary.BigEndian.AppendUint64(dst, uint64(ss.last))
		dst = appendSnapWindow(dst, ss.w)
	}
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// appendSnapWindow appends w's runs, oldest first.
func appendSnapWindow(dst []byte, w *Window) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(w.runCount()))
	w.runs(func(e *winEntry, n int) {
		dst = binary.BigEndian.AppendUint64(dst, e.loc.Index)
		dst = binary.BigEndian.AppendUint32(dst, e.loc.Off)
		dst = binary.BigEndian.AppendUint32(dst, uint32(n))
		dst = binary.BigEndian.AppendUint64(dst, e.seq)
	})
	return dst
}

// SnapshotLen returns the length of the partition's Snapshot now.
func (p *Partition) SnapshotLen() int {
	n := len(snapMagic) + 1 + 4 + 8 + 8 + 4
	for _, d := range p.order {
		n += 2 + len(d.name) + 1 + configSize + 8 + 4 + int(d.msgs)*snapMsg + 4 + 4
		for _, g := range d.order {
			n += 2 + len(g.name) + 8 + 4 + len(g.spans)*minSnapSpan
		}
		for _, o := range d.origins {
			n += minSnapOrigin + len(o.Group) + 2 + len(o.Note)
		}
	}
	n += 4 + p.window.runCount()*snapWinRun + 4
	for ss := p.sessions.head; ss != nil; ss = ss.next {
		n += minSnapSess + ss.w.runCount()*snapWinRun
	}
	return n + 4
}

// snapDeleted is the destination flag of a deleted destination.
const snapDeleted = 1

func appendSnapDest(dst []byte, d *dest) []byte {
	dst = appendStr16(dst, d.name)
	var flags byte
	if d.deleted {
		flags |= snapDeleted
	}
	dst = append(dst, flags)
	dst = appendConfig(dst, d.cfg)
	dst = binary.BigEndian.AppendUint64(dst, d.lastSeq)
	dst = binary.BigEndian.AppendUint32(dst, uint32(d.msgs))
	for i := 0; i < d.slots.len(); i++ {
		s := d.slots.at(i)
		if !s.live() {
			continue
		}
		dst = binary.BigEndian.AppendUint64(dst, s.seq)
		dst = binary.BigEndian.AppendUint64(dst, uint64(s.time))
		dst = binary.BigEndian.AppendUint64(dst, s.loc.Index)
		dst = binary.BigEndian.AppendUint32(dst, s.loc.Off)
		dst = binary.BigEndian.AppendUint32(dst, s.loc.Len)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(d.order)))
	for _, g := range d.order {
		dst = appendStr16(dst, g.name)
		dst = binary.BigEndian.AppendUint64(dst, g.floor)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(g.spans)))
		for _, s := range g.spans {
			dst = binary.BigEndian.AppendUint64(dst, s.lo)
			dst = binary.BigEndian.AppendUint64(dst, s.hi)
		}
	}
	return appendSnapOrigins(dst, d)
}

// appendSnapOrigins appends d's dead-letter origins by ascending seq:
// count u32 | per origin: seq u64 | group str16 | from seq u64 |
// attempts u32 | reason u8 | note str16 (from version 6).
func appendSnapOrigins(dst []byte, d *dest) []byte {
	seqs := make([]uint64, 0, len(d.origins))
	for seq := range d.origins {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(seqs)))
	for _, seq := range seqs {
		o := d.origins[seq]
		dst = binary.BigEndian.AppendUint64(dst, seq)
		dst = appendStr16(dst, []byte(o.Group))
		dst = binary.BigEndian.AppendUint64(dst, o.Seq)
		dst = binary.BigEndian.AppendUint32(dst, o.Attempts)
		dst = append(dst, o.Reason)
		dst = appendStr16(dst, []byte(o.Note))
	}
	return dst
}

// restoreOrigins reads what appendSnapOrigins wrote: each seq a retained
// message of d, ascending; notes only from version 6.
func restoreOrigins(rd *reader, d *dest, version uint8) error {
	n := rd.count(minSnapOrigin+1, "origin count")
	var prev uint64
	for i := 0; i < n && rd.err == nil; i++ {
		seq := rd.u64("origin seq")
		o := DeadLetterOrigin{Group: string(rd.str16("origin group")), Seq: rd.u64("origin from"),
			Attempts: rd.u32("origin attempts"), Reason: rd.u8("origin reason")}
		if version >= 6 {
			o.Note = string(rd.optStr16("origin note"))
		}
		if rd.err != nil {
			break
		}
		if seq <= prev || d.slot(seq) == nil {
			return corruptf("origin of seq %d (after %d) names no retained message", seq, prev)
		}
		prev = seq
		d.setOrigin(seq, o)
	}
	return rd.err
}

// errNotFresh is returned by Restore into a partition that has state.
var errNotFresh = errors.New("swarmmq/queue: restore into a partition that already has state")

// Restore loads snapshot b into p, which must be fresh (nothing applied).
// The restored messages are cold: the caller reads them from the log at
// their Loc when they are delivered. The ids of the dedupe window are read
// from the log records the snapshot names, through log (every record from
// the snapshot's KeepFrom to its applied index). A snapshot that does not
// decode, fails its checksum, describes an impossible state, or names
// records log cannot give (or that do not hold its messages) returns an
// error wrapping ErrCorrupt and leaves p unchanged. Snapshot after
// Restore(b) returns b again.
func (p *Partition) Restore(b []byte, log RecordReader) error {
	if p.applied != 0 || len(p.order) != 0 || p.window.size() != 0 || p.sessions.count() != 0 {
		return errNotFresh
	}
	if len(b) < len(snapMagic)+1+4 {
		return corruptf("snapshot of %d bytes", len(b))
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(body):]) {
		return corruptf("snapshot checksum mismatch")
	}
	rd := reader{b: body}
	if string(rd.take(len(snapMagic), "magic")) != snapMagic {
		return corruptf("snapshot magic")
	}
	version := rd.u8("version")
	if v := version; v != SnapshotVersion && v != snapshotVersionNoNotes {
		return corruptf("snapshot version %d, want %d (a data directory of an older development build: no release wrote it; start on a new one)", v, SnapshotVersion)
	}
	if id := rd.u32("partition"); rd.err == nil && id != p.id {
		return fmt.Errorf("%w: snapshot of partition %d, restoring %d", ErrCorrupt, id, p.id)
	}
	applied, lastTime := rd.u64("applied index"), int64(rd.u64("time"))
	dests, err := restoreDests(&rd, applied, p.seed, version)
	if err != nil {
		return err
	}
	rs := restorer{rd: &rd, applied: applied, log: log, dests: make(map[string]*dest, len(dests))}
	for _, d := range dests {
		rs.dests[d.key] = d
	}
	entries, err := rs.window(false, 0)
	if err != nil {
		return err
	}
	sess, err := rs.sessions(lastTime)
	if err != nil {
		return err
	}
	if len(rd.b) != 0 {
		return corruptf("%d bytes after snapshot", len(rd.b))
	}
	p.install(applied, lastTime, dests, entries, sess)
	return nil
}

// install makes the decoded state p's.
func (p *Partition) install(applied uint64, lastTime int64, dests []*dest, entries []winEntry, sess []restoredSession) {
	p.applied, p.lastTime = applied, lastTime
	p.ageDue = math.MaxInt64
	for _, d := range dests {
		d.lim = limitsOf(d.cfg, &p.opts)
		p.insertDest(d)
		p.noteFront(d)
	}
	// Adding the entries in order rebuilds the same generations the
	// snapshot's partition had (a previous generation is always full).
	w := p.window
	w.mu.Lock()
	for _, e := range entries {
		w.addLocked(e, w.keyHash(e.d.h, &e.id))
	}
	w.mu.Unlock()
	for _, rs := range sess { // least recently used first
		ss := p.sessions.get(rs.producer, rs.last)
		for _, e := range rs.entries {
			p.sessions.add(ss, e)
		}
	}
}

func restoreDests(rd *reader, applied uint64, seed maphash.Seed, version uint8) ([]*dest, error) {
	n := rd.count(minSnapDest, "destination count")
	dests := make([]*dest, 0, n)
	for i := 0; i < n && rd.err == nil; i++ {
		d, err := restoreDest(rd, applied, seed, version)
		if err != nil {
			return nil, err
		}
		if i > 0 && bytes.Compare(dests[i-1].name, d.name) >= 0 {
			return nil, corruptf("destination %q out of order", d.name)
		}
		dests = append(dests, d)
	}
	return dests, rd.err
}

func restoreDest(rd *reader, applied uint64, seed maphash.Seed, version uint8) (*dest, error) {
	name := rd.str16("destination")
	flags := rd.u8("destination flags")
	cfg := readConfig(rd)
	lastSeq := rd.u64("last seq")
	n := rd.count(snapMsg, "message count")
	if rd.err != nil {
		return nil, rd.err
	}
	if lastSeq >= math.MaxInt64 {
		return nil, corruptf("destination %q: last seq %d", name, lastSeq)
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("destination %q: %w", name, err)
	}
	if flags&^snapDeleted != 0 {
		return nil, corruptf("destination %q: flags %#x", name, flags)
	}
	d := newDest(name, seed)
	d.lastSeq, d.cfg, d.deleted = lastSeq, cfg, flags&snapDeleted != 0
	if err := restoreSlots(rd, d, n, applied); err != nil {
		return nil, fmt.Errorf("destination %q: %w", name, err)
	}
	if err := restoreGroups(rd, d); err != nil {
		return nil, fmt.Errorf("destination %q: %w", name, err)
	}
	if err := restoreOrigins(rd, d, version); err != nil {
		return nil, fmt.Errorf("destination %q: %w", name, err)
	}
	if d.deleted && (d.msgs != 0 || len(d.order) != 0 || !cfg.IsZero()) {
		return nil, corruptf("deleted destination %q holds messages, groups or a configuration", name)
	}
	return d, nil
}

// restoreSlots reads n messages (seq | time | loc) with ascending seqs in
// 1..lastSeq, each in a record at or below applied.
func restoreSlots(rd *reader, d *dest, n int, applied uint64) error {
	var prev uint64
	for i := 0; i < n; i++ {
		s := slot{seq: rd.u64("message seq"), time: int64(rd.u64("message time"))}
		s.loc = Loc{Index: rd.u64("message index"), Off: rd.u32("message offset"), Len: rd.u32("message length")}
		if rd.err != nil {
			return corruptf("message %d of %d truncated", i, n)
		}
		if s.seq <= prev || s.seq > d.lastSeq {
			return corruptf("message seq %d after %d (last %d)", s.seq, prev, d.lastSeq)
		}
		if s.loc.Index == 0 || s.loc.Index > applied || s.loc.Len < msgHeaderSize || s.loc.Off > math.MaxUint32-s.loc.Len {
			return corruptf("message seq %d at %+v (applied %d)", s.seq, s.loc, applied)
		}
		prev = s.seq
		d.unordered = d.unordered || s.loc.Index < d.lastIndex
		d.lastIndex = max(d.lastIndex, s.loc.Index)
		d.slots.push(s)
		d.account(s.loc, 1)
	}
	return nil
}

func restoreGroups(rd *reader, d *dest) error {
	n := rd.count(minSnapGroup, "group count")
	for i := 0; i < n && rd.err == nil; i++ {
		g := newGroup(rd.str16("group"), rd.u64("floor"))
		if rd.err != nil {
			break
		}
		if i > 0 && bytes.Compare(d.order[i-1].name, g.name) >= 0 {
			return corruptf("group %q out of order", g.name)
		}
		if g.floor < d.firstSeq() || g.floor > d.lastSeq+1 {
			return corruptf("group %q floor %d outside %d..%d", g.name, g.floor, d.firstSeq(), d.lastSeq+1)
		}
		if err := restoreSpans(rd, g, d.lastSeq); err != nil {
			return fmt.Errorf("group %q: %w", g.name, err)
		}
		g.countAcked()
		d.insertGroup(g)
	}
	return rd.err
}

// restoreSpans reads g's spans: sorted, disjoint, never adjacent, above
// floor and at most lastSeq.
func restoreSpans(rd *reader, g *group, lastSeq uint64) error {
	n := rd.count(minSnapSpan, "span count")
	if rd.err != nil {
		return rd.err
	}
	g.spans = make([]span, 0, n)
	low := g.floor + 1 // the first span starts above floor ...
	for i := 0; i < n; i++ {
		s := span{lo: rd.u64("span"), hi: rd.u64("span")}
		if s.lo < low || s.hi < s.lo || s.hi > lastSeq {
			return corruptf("span %d..%d (want %d..%d)", s.lo, s.hi, low, lastSeq)
		}
		g.spans = append(g.spans, s)
		low = s.hi + 2 // ... and each next one leaves a gap
	}
	return nil
}

// restorer reads the dedupe windows of a snapshot: runs of messages, whose
// ids it reads back from the log.
type restorer struct {
	rd      *reader
	applied uint64
	log     RecordReader
	dests   map[string]*dest
	keys    map[winKey]struct{} // of the window being read, to refuse a key twice

	index uint64 // the record in rec
	rec   msgRecord
}

// winKey is a window's key, for Restore's checks.
type winKey struct {
	id [16]byte
	d  *dest
}

// restoredSession is a producer session read from a snapshot.
type restoredSession struct {
	producer uint64
	last     int64
	entries  []winEntry
}

// sessions reads the producer sessions, least recently used first: each
// used at or before lastTime and no earlier than the one before.
func (rs *restorer) sessions(lastTime int64) ([]restoredSession, error) {
	n := rs.rd.count(minSnapSess, "session count")
	out := make([]restoredSession, 0, n)
	seen := make(map[uint64]bool, n)
	for i := 0; i < n && rs.rd.err == nil; i++ {
		s := restoredSession{producer: rs.rd.u64("producer"), last: int64(rs.rd.u64("session time"))}
		if rs.rd.err != nil {
			break
		}
		if seen[s.producer] || s.last > lastTime || (i > 0 && s.last < out[i-1].last) {
			return nil, corruptf("session of producer %d used at %d (after %d sessions, time %d)", s.producer, s.last, i, lastTime)
		}
		seen[s.producer] = true
		var err error
		if s.entries, err = rs.window(true, s.producer); err != nil {
			return nil, fmt.Errorf("session of producer %d: %w", s.producer, err)
		}
		out = append(out, s)
	}
	return out, rs.rd.err
}

// window reads one window's runs and the keys they name from the log.
// Snapshot writes the longest runs; a run that continues the one before is
// refused, so Snapshot after Restore gives the same bytes. A session's
// runs must name session records of its producer, the application
// window's plain messages records.
func (rs *restorer) window(session bool, producer uint64) ([]winEntry, error) {
	n := rs.rd.count(snapWinRun, "window run count")
	if rs.rd.err != nil {
		return nil, rs.rd.err
	}
	var entries []winEntry
	rs.keys = map[winKey]struct{}{}
	for i := 0; i < n; i++ {
		at, off := rs.rd.u64("window run index"), rs.rd.u32("window run offset")
		count, seq := rs.rd.u32("window run length"), rs.rd.u64("window run seq")
		if rs.rd.err != nil {
			return nil, rs.rd.err
		}
		if at == 0 || at > rs.applied || count == 0 || seq == 0 || seq+uint64(count) < seq {
			return nil, corruptf("window run of %d at record %d offset %d, seq %d (applied %d)", count, at, off, seq, rs.applied)
		}
		var err error
		if entries, err = rs.run(entries, at, off, count, seq, session, producer); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// run appends the count entries of one run to entries.
func (rs *restorer) run(entries []winEntry, at uint64, off, count uint32, seq uint64, session bool, producer uint64) ([]winEntry, error) {
	if rs.rec.raw == nil || at != rs.index {
		b, err := rs.log(at)
		if err != nil {
			return nil, fmt.Errorf("%w: window record %d: %w", ErrCorrupt, at, err)
		}
		if rs.rec, err = messagesOf(b, at); err != nil {
			return nil, err
		}
		rs.index = at
	}
	if (rs.rec.typ == RecordSessionMessages) != session {
		return nil, corruptf("window run names a %s record %d", rs.rec.typ, at)
	}
	d := rs.dests[string(rs.rec.dest)]
	if d == nil {
		return nil, corruptf("window run names record %d of unknown destination %q", at, rs.rec.dest)
	}
	rec := rs.rec.raw
	for k := uint32(0); k < count; k++ {
		m := -1
		if uint64(off) < uint64(len(rec)) {
			m = msgLen(rec[off:])
		}
		if m < 0 {
			return nil, corruptf("window run: no message at offset %d of record %d", off, at)
		}
		if p := msgProducer(rec[off:]); session && p != producer {
			return nil, corruptf("window run: message of producer %d at offset %d of record %d", p, off, at)
		}
		e := winEntry{id: msgID(rec[off:]), d: d, seq: seq + uint64(k), time: rs.rec.time,
			loc: Loc{Index: at, Off: off, Len: uint32(m)}}
		if _, dup := rs.keys[winKey{e.id, d}]; dup {
			return nil, corruptf("window key %q %x twice", d.name, e.id)
		}
		rs.keys[winKey{e.id, d}] = struct{}{}
		if k == 0 && len(entries) > 0 && e.extends(&entries[len(entries)-1]) {
			return nil, corruptf("window run at record %d offset %d continues the one before", at, off)
		}
		entries = append(entries, e)
		off += uint32(m)
	}
	return entries, nil
}
