package fanout

import (
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/queue"
)

// countPublished counts, for rec's destination, the messages of rec that
// res (apply's per-message results, in the order of rec.Raw) says were
// stored: not duplicates, not refused. It is called for the records this
// node proposed (a PUBLISH it took as the partition's leader), so a
// follower applying the leader's records, or a replica replaying its log
// after a restart, counts nothing. One map look-up and two additions per
// record; the bytes are len(rec.Raw) unless some message was not stored.
func (w *worker) countPublished(rec *queue.Record, res []queue.Result) {
	stored := 0
	for _, x := range res {
		if x.Code == queue.CodeOK && !x.Duplicate {
			stored++
		}
	}
	if stored == 0 {
		return
	}
	bytes := len(rec.Raw)
	if stored < len(res) {
		bytes = storedBytes(rec.Raw, res)
	}
	r := w.pub[string(rec.Dest)]
	if r == nil {
		r = new(pubRate)
		w.pub[string(rec.Dest)] = r
	}
	r.add(w.s.deps.Now(), uint64(stored), uint64(bytes))
}

// storedBytes sums the wire size of the messages of raw whose result
// says stored.
func storedBytes(raw []byte, res []queue.Result) int {
	n := 0
	for i, off := 0, 0; i < len(res) && off < len(raw); i++ {
		_, size, err := frame.ParseMessage(raw[off:])
		if err != nil { // cannot happen: apply walked the same bytes
			break
		}
		if res[i].Code == queue.CodeOK && !res[i].Duplicate {
			n += size
		}
		off += size
	}
	return n
}

// forgetPublished drops dest's counts (a deleted destination starts again
// from 0 if it is used again).
func (w *worker) forgetPublished(dest []byte) {
	delete(w.pub, string(dest))
}

// idlePublished drops the rings of destinations that stored nothing for a
// whole window, keeping their totals (called with the stats tick).
func (w *worker) idlePublished(now int64) {
	for _, r := range w.pub {
		r.advance(now)
	}
}
