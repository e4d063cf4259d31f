package queue

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
)

// Window is a dedupe window: the (destination, id) keys of recently stored
// messages and the seq each got. A partition has one for application ids
// (messages published without a producer session, see Partition) and one
// per producer session (see sessions).
//
// A key is the destination and the 16-byte id together: the same id in
// two destinations is two keys, so a duplicate is only ever reported for
// the destination that stored the original.
//
// It keeps two generations, each the entries in insertion order plus an
// index over them (idTable). New ids go to the current generation; when it
// holds DedupeMax/2 ids it becomes the previous one and the old previous
// generation is dropped whole, its memory reused for the next. So the
// window remembers at least the DedupeMax/2 newest ids (and at most
// DedupeMax), and eviction costs no per-id delete. Time expiry drops a
// generation once its newest entry is older than Options.DedupeWindow
// relative to the newest applied record time, so an id is remembered for at
// least DedupeWindow unless the count bound pushes it out first; evicted
// counts the ids the count bound pushed out while younger than that.
// Everything observable depends only on the records applied, so replicas
// and replays agree.
//
// Lookup is safe for concurrent use with the partition's owner goroutine
// (the dedupe stage calls it); only Apply and Restore write, under mu.
// Everything else is owned by the partition's goroutine.
type Window struct {
	mu struct {
		sync.RWMutex
		cur, prev generation
	}
	span int64 // DedupeWindow in ns
	gen  int   // ids per generation: max(1, DedupeMax/2)
	seed maphash.Seed

	// evicted counts ids dropped by the count bound while younger than
	// span (relative to the newest time added). Owner only.
	evicted uint64
}

// generation is one generation of the window: its entries in insertion
// order and a hash index over them.
type generation struct {
	list   []winEntry
	table  idTable
	newest int64 // newest record time of its entries
	runs   int   // runs of list (see winEntry.extends)
}

// winEntry is one remembered key (destination and id), the seq it got,
// the time of its record and where its message lies in the log. Snapshots do not copy the ids: they name the runs of
// messages in the log (Partition.KeepFrom keeps those records), and
// Restore reads the ids back from there.
type winEntry struct {
	id   [16]byte
	d    *dest // never removed from its partition, name immutable
	seq  uint64
	time int64
	loc  Loc
}

// extends reports whether e is the message after prev in the same record,
// with the seq after prev's: a snapshot encodes such a run as one item.
func (e *winEntry) extends(prev *winEntry) bool {
	return e.loc.Index == prev.loc.Index && e.loc.Off == prev.loc.Off+prev.loc.Len && e.seq == prev.seq+1
}

// newWindow returns an empty window; seed is the partition's, which its
// destinations' name hashes (dest.h) are made with.
func newWindow(span int64, maxIDs int, seed maphash.Seed) *Window {
	return &Window{span: span, gen: max(1, maxIDs/2), seed: seed}
}

// keyHash hashes the key (destination, id) from the destination's hash
// (its name hashed with the same seed: dest.h) and the id. The seed is
// random, so keys chosen by a client cannot be made to collide on purpose;
// two names with the same 64-bit hash only share probe sequences, since a
// look-up compares names and ids whole. Apply hashes a record's
// destination once, not once per message.
func (w *Window) keyHash(dh uint64, id *[16]byte) uint64 {
	var b [24]byte
	copy(b[:16], id[:])
	binary.LittleEndian.PutUint64(b[16:], dh)
	return maphash.Bytes(w.seed, b[:])
}

// Lookup returns the seq stored for message id in destination dest, if
// that key is in the window. It is safe for concurrent use with Apply.
func (w *Window) Lookup(dest []byte, id [16]byte) (seq uint64, ok bool) {
	h := w.keyHash(maphash.Bytes(w.seed, dest), &id)
	w.mu.RLock()
	seq, ok = w.getHashed(dest, &id, h)
	w.mu.RUnlock()
	return seq, ok
}

// Len returns the number of ids in the window. It is safe for concurrent
// use with Apply.
func (w *Window) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.size()
}

// getLocked returns the seq of key (d, id), and the key's hash for
// addLocked; the caller is the writer (owner goroutine), which may read
// without the lock, or holds it.
func (w *Window) getLocked(d *dest, id [16]byte) (seq uint64, ok bool, h uint64) {
	h = w.keyHash(d.h, &id)
	seq, ok = w.getHashed(d.name, &id, h)
	return seq, ok, h
}

func (w *Window) getHashed(dest []byte, id *[16]byte, h uint64) (uint64, bool) {
	if i, ok := w.mu.cur.table.find(w.mu.cur.list, dest, id, h); ok {
		return w.mu.cur.list[i].seq, true
	}
	if i, ok := w.mu.prev.table.find(w.mu.prev.list, dest, id, h); ok {
		return w.mu.prev.list[i].seq, true
	}
	return 0, false
}

// addLocked remembers e (its key not in the window, h its hash from
// getLocked), turning a full current generation into the previous one
// first. It returns the change of the window's size. The caller holds
// w.mu for writing.
func (w *Window) addLocked(e winEntry, h uint64) (grown int) {
	cur := &w.mu.cur
	grown = 1
	if len(cur.list) >= w.gen {
		old := w.mu.prev
		w.countEvicted(old.list, max(cur.newest, e.time))
		grown -= len(old.list)
		w.mu.prev = *cur
		*cur = generation{list: old.list[:0], table: old.table}
		cur.table.reset()
	}
	cur.list = append(cur.list, e)
	if n := len(cur.list); n == 1 || !cur.list[n-1].extends(&cur.list[n-2]) {
		cur.runs++
	}
	cur.table.insert(cur.list, len(cur.list)-1, h, w)
	cur.newest = max(cur.newest, e.time)
	return grown
}

// countEvicted adds to w.evicted the entries of list, a generation the
// count bound drops, that are younger than span at time newest.
func (w *Window) countEvicted(list []winEntry, newest int64) {
	limit := satSub(newest, w.span)
	for i := range list {
		if list[i].time >= limit {
			w.evicted++
		}
	}
}

// Evicted returns the number of keys the count bound dropped while younger
// than the window's time span. Owner only.
func (w *Window) Evicted() uint64 { return w.evicted }

// runs calls fn for every run of entries (consecutive messages of one
// record with consecutive seqs, see winEntry.extends), oldest first.
// Owner only.
func (w *Window) runs(fn func(first *winEntry, count int)) {
	var first, prev *winEntry
	n := 0
	for _, g := range [2]*generation{&w.mu.prev, &w.mu.cur} {
		for i := range g.list {
			e := &g.list[i]
			if prev != nil && e.extends(prev) {
				n++
			} else {
				if first != nil {
					fn(first, n)
				}
				first, n = e, 1
			}
			prev = e
		}
	}
	if first != nil {
		fn(first, n)
	}
}

// runCount returns the number of runs of w. Owner only.
func (w *Window) runCount() int {
	n := w.mu.prev.runs + w.mu.cur.runs
	if p, c := w.mu.prev.list, w.mu.cur.list; len(p) > 0 && len(c) > 0 && c[0].extends(&p[len(p)-1]) {
		n-- // a run goes on from one generation into the next
	}
	return n
}

// oldest returns the entry stored first, if any. Owner only.
func (w *Window) oldest() (*winEntry, bool) {
	for _, g := range [2]*generation{&w.mu.prev, &w.mu.cur} {
		if len(g.list) > 0 {
			return &g.list[0], true
		}
	}
	return nil, false
}

// size returns the number of entries. Owner only, or under mu.
func (w *Window) size() int { return len(w.mu.prev.list) + len(w.mu.cur.list) }

// expire drops the generations whose newest entry was stored before
// newest-span, freeing their memory (an expired window is an idle one),
// and returns the change of the window's size. Called by the owner.
func (w *Window) expire(newest int64) (grown int) {
	limit := satSub(newest, w.span)
	dropPrev := len(w.mu.prev.list) > 0 && w.mu.prev.newest < limit
	dropCur := len(w.mu.cur.list) > 0 && w.mu.cur.newest < limit
	if !dropPrev && !dropCur {
		return 0
	}
	before := w.size()
	w.mu.Lock()
	w.mu.prev = generation{}
	if dropCur {
		w.mu.cur = generation{}
	}
	w.mu.Unlock()
	return w.size() - before
}

// idTable indexes the entries of one generation by id: open addressing,
// linear probing, at most half full. A slot is 0 when empty, else the high
// 32 bits of the id's hash (a tag, so most probes need not read the entry)
// and the entry's index + 1. Lookups that miss, the common case for a new
// message, mostly read one cache line.
type idTable struct {
	slots []uint64
	n     int
}

const minIDTable = 64

// find returns the index in list of the entry with key (dest, id), hash h.
func (t *idTable) find(list []winEntry, dest []byte, id *[16]byte, h uint64) (int, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	tag := h >> 32
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 == tag {
			if j := int(uint32(s)) - 1; list[j].id == *id && string(list[j].d.name) == string(dest) {
				return j, true
			}
		}
	}
}

// insert adds entry j of list (hash h, not in the table), growing the
// table to keep it at most half full.
func (t *idTable) insert(list []winEntry, j int, h uint64, w *Window) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow(list[:j], w)
	}
	t.put(h, j)
	t.n++
}

func (t *idTable) put(h uint64, j int) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = h>>32<<32 | uint64(j+1)
}

// grow doubles the table and re-indexes list, the entries already in it.
func (t *idTable) grow(list []winEntry, w *Window) {
	t.slots = make([]uint64, max(minIDTable, 2*len(t.slots)))
	for j := range list {
		t.put(w.keyHash(list[j].d.h, &list[j].id), j)
	}
}

// reset empties the table, keeping its memory.
func (t *idTable) reset() {
	clear(t.slots)
	t.n = 0
}
