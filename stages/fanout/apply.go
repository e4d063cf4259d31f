package fanout

import (
	"errors"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// applyRecord applies a record persist has made durable (or reports the
// storage error that kept it from being durable).
func (w *worker) applyRecord(r *work.Request) {
	if r.Index == 0 && r.Err == nil {
		// Nothing was written (every message already resolved).
		w.reply(r)
		return
	}
	if r.Err != nil {
		w.storageFailed(r)
		return
	}
	p := w.s.deps.Partitions[r.Partition]
	var err error
	w.results, err = p.Apply(r.Index, &r.Record, w.results[:0])
	if err != nil {
		w.s.opts.Logger.Error("BUG: cannot apply a committed record", "partition", r.Partition,
			"index", r.Index, "err", err)
		w.fail(r, frame.CodeInternal, fmt.Errorf("cannot apply record %d: %w", r.Index, err))
		return
	}
	w.s.m.applied.Inc()
	switch r.Kind {
	case work.KindPublish:
		w.wake(r.Dest) // before the hand-off: r belongs to ack afterwards
		w.publishApplied(r)
	case work.KindAck:
		w.reply(r)
	case work.KindGroupCreate:
		delete(w.creating, waitKey{string(r.Dest), string(r.Group)})
		w.wake(r.Dest)
		r.Release()
	case work.KindDeadLetter:
		w.s.m.deadLetter.Add(len(r.Seqs))
		w.wake(frame.AppendDeadLetter(nil, r.Dest))
		r.Release()
	}
}

// publishApplied copies the state machine's per-message results into the
// slots of r's open messages, in order, and sends r to the ack stage.
func (w *worker) publishApplied(r *work.Request) {
	j := 0
	for i := range r.Results {
		if r.Resolved(i) {
			continue
		}
		if j >= len(w.results) {
			break
		}
		res := w.results[j]
		j++
		e := frame.AckEntry{Code: frame.Code(res.Code), Seq: res.Seq}
		if res.Duplicate {
			e.Flags = frame.FlagDuplicate
		}
		r.Resolve(i, e)
	}
	w.reply(r)
}

// storageFailed answers a request whose record could not be stored:
// DISK_FULL when the log refused it for want of space (retry later),
// STORAGE otherwise.
func (w *worker) storageFailed(r *work.Request) {
	code := frame.CodeStorage
	if errors.Is(r.Err, wal.ErrDiskFull) {
		code = frame.CodeDiskFull
	}
	switch r.Kind {
	case work.KindPublish:
		for i := range r.Results {
			if !r.Resolved(i) {
				r.Resolve(i, frame.AckEntry{Code: code})
			}
		}
		r.Err = nil
		w.reply(r)
	case work.KindAck:
		w.fail(r, code, r.Err)
	case work.KindGroupCreate, work.KindDeadLetter:
		// Internal records: try again later.
		if r.Kind == work.KindDeadLetter {
			r.Err, r.Index = nil, 0
			w.feedback = append(w.feedback, r)
			return
		}
		delete(w.creating, waitKey{string(r.Dest), string(r.Group)})
		r.Release()
	}
}

// takeDead turns the partition's exhausted deliveries into DeadLetter
// records for persist.
func (w *worker) takeDead(p uint32) {
	w.dead = w.s.deps.Partitions[p].TakeDead(w.dead[:0])
	for _, d := range w.dead {
		r := work.NewRequest(work.KindDeadLetter, netio.Inbound{})
		r.Partition = p
		r.Dest = append([]byte(nil), d.Dest...)
		r.Group = append([]byte(nil), d.Group...)
		r.Seqs = append(r.Seqs[:0], d.Seqs...)
		w.feedback = append(w.feedback, r)
	}
}

// requestGroup asks persist to log a GroupCreate for (dest, group) once.
func (w *worker) requestGroup(p uint32, dest, group []byte) {
	k := waitKey{string(dest), string(group)}
	if w.creating[k] {
		return
	}
	w.creating[k] = true
	r := work.NewRequest(work.KindGroupCreate, netio.Inbound{})
	r.Partition = p
	r.Dest = []byte(k.dest)
	r.Group = []byte(k.group)
	w.feedback = append(w.feedback, r)
}

// flushFeedback offers queued records to persist without blocking.
func (w *worker) flushFeedback() {
	n := 0
	for _, r := range w.feedback {
		if !w.s.deps.Feedback.TryPush(r) {
			break
		}
		n++
	}
	w.feedback = append(w.feedback[:0], w.feedback[n:]...)
}

// snapshot is an encoded partition state on its way to the log.
type snapshot struct {
	partition       uint32
	index, keepFrom uint64
	data            []byte
}

// maybeSnapshot snapshots partitions that applied enough records while
// retaining few messages, so the log prefix no retained message points at
// can be trimmed. It encodes on the worker (the state is the worker's) and
// hands the synced write to the snapshot writer; while the writer is busy
// it waits for a later tick. Encoding into a buffer the writer handed back
// keeps the pause short: a fresh multi-megabyte buffer costs ~9 times the
// encoding (queue's BenchmarkSnapshot).
func (w *worker) maybeSnapshot() {
	for _, id := range w.parts {
		p := w.s.deps.Partitions[id]
		applied := p.AppliedIndex()
		if applied-w.lastSnap[id] < w.s.opts.SnapshotEvery ||
			p.RetainedMsgs()*queue.SnapshotMsgBytes > w.s.opts.SnapshotMaxBytes {
			continue
		}
		if len(w.snaps) == cap(w.snaps) {
			return
		}
		var buf []byte
		select {
		case buf = <-w.spare:
		default:
		}
		w.snaps <- snapshot{partition: id, index: applied, keepFrom: p.KeepFrom(), data: p.Snapshot(buf[:0])}
		w.lastSnap[id] = applied
	}
}

// writeSnapshots stores the snapshots of the worker's partitions, in the
// order taken, until the worker closes snaps. A snapshot that fails is
// logged; the next one (SnapshotEvery records later) tries again. Each
// trims the log only below entries its state still points at, so a later
// Read of a retained message never finds it gone.
func (w *worker) writeSnapshots() {
	for s := range w.snaps {
		if err := w.s.deps.Log.SaveSnapshot(s.partition, s.index, s.keepFrom, s.data); err != nil {
			w.s.opts.Logger.Error("cannot save snapshot", "partition", s.partition, "index", s.index, "err", err)
		} else {
			w.s.m.snapshots.Inc()
		}
		select {
		case w.spare <- s.data:
		default:
		}
	}
}
