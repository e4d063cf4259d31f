package queue

import "sync"

// Window is a partition's dedupe window: the ids of recently stored
// messages and the seq each got. Entries leave in insertion order, when
// they are older than Options.DedupeWindow relative to the newest applied
// record time, or when the window holds more than Options.DedupeMax.
//
// Lookup is safe for concurrent use with the partition's owner goroutine
// (the dedupe stage calls it); only Apply and Restore write, under mu.
// Everything else is owned by the partition's goroutine.
type Window struct {
	mu struct {
		sync.RWMutex
		ids map[[16]byte]uint64
	}
	// fifo is read and written only by the owner goroutine.
	fifo ring[winEntry]
	span int64 // DedupeWindow in ns
	max  int   // DedupeMax
}

// winEntry is one remembered id with the time of the record that stored it.
type winEntry struct {
	id   [16]byte
	seq  uint64
	time int64
}

func newWindow(span int64, max int) *Window {
	w := &Window{span: span, max: max}
	w.mu.ids = make(map[[16]byte]uint64)
	return w
}

// Lookup returns the seq stored for message id, if id is in the window.
// It is safe for concurrent use with Apply.
func (w *Window) Lookup(id [16]byte) (seq uint64, ok bool) {
	w.mu.RLock()
	seq, ok = w.mu.ids[id]
	w.mu.RUnlock()
	return seq, ok
}

// Len returns the number of ids in the window. It is safe for concurrent
// use with Apply.
func (w *Window) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.mu.ids)
}

// getLocked returns the seq of id; the caller is the writer (owner
// goroutine), which may read without the lock, or holds it.
func (w *Window) getLocked(id [16]byte) (uint64, bool) {
	seq, ok := w.mu.ids[id]
	return seq, ok
}

// addLocked remembers id, evicting the oldest entry beyond max. The caller
// holds w.mu for writing.
func (w *Window) addLocked(id [16]byte, seq uint64, t int64) {
	w.mu.ids[id] = seq
	w.fifo.push(winEntry{id: id, seq: seq, time: t})
	for w.fifo.len() > w.max {
		w.popLocked()
	}
}

func (w *Window) popLocked() {
	delete(w.mu.ids, w.fifo.at(0).id)
	w.fifo.popFront()
}

// expire drops the entries stored before newest-span, in insertion order
// (an entry behind a younger one waits for it). Called by the owner.
func (w *Window) expire(newest int64) {
	limit := satSub(newest, w.span)
	if w.fifo.len() == 0 || w.fifo.at(0).time >= limit {
		return
	}
	w.mu.Lock()
	for w.fifo.len() > 0 && w.fifo.at(0).time < limit {
		w.popLocked()
	}
	w.mu.Unlock()
}
