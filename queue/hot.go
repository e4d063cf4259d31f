package queue

// Loc is where a retained message lies in its partition's log: the entry
// Index of the RecordMessages record that stored it and the message's
// offset and length in that record's message section (Record.Raw). A
// dead-lettered copy keeps the Loc of the original. A plain value.
type Loc struct {
	Index uint64
	Off   uint32
	Len   uint32
}

// hotSet holds the messages records kept in memory, by log index, each with
// the number of live slots that point into it. Owned by the partition.
type hotSet struct {
	budget *Budget
	recs   map[uint64]hotRec
}

// hotRec is one in-memory copy of a record's message section.
type hotRec struct {
	raw  []byte
	refs int
}

func newHotSet(b *Budget) *hotSet {
	return &hotSet{budget: b, recs: make(map[uint64]hotRec)}
}

// keep copies raw, the message section of record index, with refs live
// messages pointing into it, if the budget has room for it.
func (h *hotSet) keep(index uint64, raw []byte, refs int) {
	if h.budget.take(int64(len(raw))) {
		h.recs[index] = hotRec{raw: append([]byte(nil), raw...), refs: refs}
	}
}

// view returns the message at l if its record is in memory, else nil. The
// bytes are never written again, so the view stays valid after the record
// leaves memory.
func (h *hotSet) view(l Loc) []byte {
	r, ok := h.recs[l.Index]
	if !ok {
		return nil
	}
	end := l.Off + l.Len
	return r.raw[l.Off:end:end]
}

// ref adds a reference to record index if it is in memory.
func (h *hotSet) ref(index uint64) {
	if r, ok := h.recs[index]; ok {
		r.refs++
		h.recs[index] = r
	}
}

// unref drops a reference to record index; the last one frees the record.
func (h *hotSet) unref(index uint64) {
	r, ok := h.recs[index]
	if !ok {
		return
	}
	if r.refs--; r.refs > 0 {
		h.recs[index] = r
		return
	}
	delete(h.recs, index)
	h.budget.give(int64(len(r.raw)))
}

// bytes returns the bytes held in memory.
func (h *hotSet) bytes() int64 {
	var n int64
	for _, r := range h.recs {
		n += int64(len(r.raw))
	}
	return n
}
