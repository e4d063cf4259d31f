package rlog

import "github.com/swarmmq/swarmmq/stages/plog"

// slot is one proposal of this node waiting for its outcome. It is the
// ctx given to Engine.Propose, so the engine hands it back with the
// committed entry (or to Lost).
type slot struct {
	prop plog.Proposal
	data []byte // the encoded record; must not change until the outcome
	out  plog.Output
	// decided: out is its outcome, waiting for the slots before it.
	// delivered: its committed entry already went out (see committedLocked).
	decided, delivered bool
}

// fifo is a partition's proposals in the order they were taken, each
// waiting for its outcome. The seam promises a partition's outputs in the
// order of its proposals; the engine's outcomes mostly come in that order
// already (a leader's entries commit in order; a Lost for a later
// proposal comes with or after the earlier one's), but not always: a
// proposal refused at once (this node lost the leadership, the queue is
// full) is decided while earlier ones are still in raft, and a proposal
// raft dropped is lost while an earlier one waits for its commit. So an
// outcome waits in its slot until every slot before it is decided.
//
// Committed entries are the exception: they must leave in index order,
// interleaved with the entries other nodes proposed, so a committed entry
// of this node leaves at once. Every proposal before it in the FIFO was
// proposed before it, so in raft it either has a lower index in the same
// term (committed, hence applied, first) or was lost (its entry replaced,
// reported when the replacing entries arrive, before they are applied):
// a committed entry that finds an undecided slot before it would be a bug,
// and is logged.
type fifo struct {
	slots []*slot
}

// settleLocked hands out a proposal decided without the engine (not led,
// nothing to write): at once when nothing of f waits, else in its turn.
func (l *Log) settleLocked(f *fifo, s *slot, o plog.Output) {
	o.Entry.Req = s.prop.Req
	if f == nil || len(f.slots) == 0 {
		l.deliver(s.prop.Partition, o)
		return
	}
	s.out, s.decided = o, true
	f.slots = append(f.slots, s)
}

// decideLocked records s's outcome and hands out every decided slot at
// the head of f.
func (l *Log) decideLocked(f *fifo, s *slot, o plog.Output) {
	o.Entry.Req = s.prop.Req
	s.out, s.decided = o, true
	l.flushLocked(f)
}

// committedLocked hands out the committed entry of s at once (index order
// first), and then what its commit unblocked.
func (l *Log) committedLocked(f *fifo, s *slot, o plog.Output) {
	if len(f.slots) == 0 || f.slots[0] != s {
		l.opts.Logger.Error("BUG: a proposal committed before an earlier one had its outcome",
			"partition", s.prop.Partition, "index", o.Entry.Index)
	}
	l.deliver(s.prop.Partition, o)
	s.decided, s.delivered = true, true
	l.flushLocked(f)
}

// flushLocked hands out the decided slots at the head of f.
func (l *Log) flushLocked(f *fifo) {
	n := 0
	for _, s := range f.slots {
		if !s.decided {
			break
		}
		if !s.delivered {
			l.deliver(s.prop.Partition, s.out)
		}
		n++
	}
	if n == 0 {
		return
	}
	clear(f.slots[:n])
	f.slots = f.slots[n:]
	if len(f.slots) == 0 {
		f.slots = nil
		l.idle.Broadcast()
	}
}
