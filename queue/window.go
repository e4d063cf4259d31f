package queue

import "sync"

// Window is a partition's dedupe window: the ids of recently stored
// messages and the seq each got.
//
// It keeps two generations, each an id map plus the entries in insertion
// order. New ids go to the current generation; when it holds DedupeMax/2
// ids it becomes the previous one and the old previous generation is
// dropped whole. So the window remembers at least the DedupeMax/2 newest
// ids (and at most DedupeMax), and eviction costs no per-id map delete: a
// partition at its bound pays one map insert per stored message instead of
// an insert and a delete. Time expiry drops a generation once its newest
// entry is older than Options.DedupeWindow relative to the newest applied
// record time, so an id is remembered for at least DedupeWindow unless the
// count bound pushes it out first. Everything depends only on the records
// applied, so replicas and replays agree.
//
// Lookup is safe for concurrent use with the partition's owner goroutine
// (the dedupe stage calls it); only Apply and Restore write, under mu.
// Everything else is owned by the partition's goroutine.
type Window struct {
	mu struct {
		sync.RWMutex
		cur, prev map[[16]byte]uint64
	}
	// Written only by the owner goroutine (under mu when the maps change).
	curList, prevList []winEntry // insertion order, for snapshots
	curNewest         int64      // newest record time in each generation
	prevNewest        int64
	span              int64 // DedupeWindow in ns
	gen               int   // ids per generation: max(1, DedupeMax/2)
}

// winEntry is one remembered id with the time of the record that stored it.
type winEntry struct {
	id   [16]byte
	seq  uint64
	time int64
}

func newWindow(span int64, maxIDs int) *Window {
	w := &Window{span: span, gen: max(1, maxIDs/2)}
	w.mu.cur = make(map[[16]byte]uint64)
	return w
}

// Lookup returns the seq stored for message id, if id is in the window.
// It is safe for concurrent use with Apply.
func (w *Window) Lookup(id [16]byte) (seq uint64, ok bool) {
	w.mu.RLock()
	seq, ok = w.getLocked(id)
	w.mu.RUnlock()
	return seq, ok
}

// Len returns the number of ids in the window. It is safe for concurrent
// use with Apply.
func (w *Window) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.mu.cur) + len(w.mu.prev)
}

// getLocked returns the seq of id; the caller is the writer (owner
// goroutine), which may read without the lock, or holds it.
func (w *Window) getLocked(id [16]byte) (uint64, bool) {
	if seq, ok := w.mu.cur[id]; ok {
		return seq, true
	}
	seq, ok := w.mu.prev[id]
	return seq, ok
}

// addLocked remembers id (not in the window), turning a full current
// generation into the previous one first. The caller holds w.mu for
// writing.
func (w *Window) addLocked(id [16]byte, seq uint64, t int64) {
	if len(w.curList) >= w.gen {
		w.mu.prev, w.prevList, w.prevNewest = w.mu.cur, w.curList, w.curNewest
		w.mu.cur = make(map[[16]byte]uint64, w.gen)
		w.curList, w.curNewest = make([]winEntry, 0, w.gen), 0
	}
	w.mu.cur[id] = seq
	w.curList = append(w.curList, winEntry{id: id, seq: seq, time: t})
	w.curNewest = max(w.curNewest, t)
}

// entries calls fn for every entry, oldest generation first, each in
// insertion order. Owner only.
func (w *Window) entries(fn func(e *winEntry)) {
	for i := range w.prevList {
		fn(&w.prevList[i])
	}
	for i := range w.curList {
		fn(&w.curList[i])
	}
}

// size returns the number of entries. Owner only.
func (w *Window) size() int { return len(w.prevList) + len(w.curList) }

// expire drops the generations whose newest entry was stored before
// newest-span. Called by the owner.
func (w *Window) expire(newest int64) {
	limit := satSub(newest, w.span)
	dropPrev := len(w.prevList) > 0 && w.prevNewest < limit
	dropCur := len(w.curList) > 0 && w.curNewest < limit
	if !dropPrev && !dropCur {
		return
	}
	w.mu.Lock()
	if dropPrev || dropCur {
		w.mu.prev, w.prevList, w.prevNewest = nil, nil, 0
	}
	if dropCur {
		w.mu.cur = make(map[[16]byte]uint64)
		w.curList, w.curNewest = nil, 0
	}
	w.mu.Unlock()
}
