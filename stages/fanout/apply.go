package fanout

import (
	"errors"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// apply handles one outcome of the partition log.
func (w *worker) apply(o plog.Output) {
	switch o.Kind {
	case plog.Committed:
		w.applyEntry(o.Entry)
	case plog.Failed:
		w.proposalFailed(o.Entry.Req, o.Err)
	case plog.Unwritten:
		w.reply(o.Entry.Req) // nothing was written: every message already answered
	case plog.Lead:
		w.lead(o)
	case plog.Follow:
		w.follow(o)
	case plog.Restore:
		w.restore(o)
	default:
		w.s.opts.Logger.Error("BUG: unknown partition log output", "kind", o.Kind.String())
		if o.Entry.Req != nil {
			w.fail(o.Entry.Req, frame.CodeInternal, fmt.Errorf("unknown log output %s", o.Kind))
		}
	}
}

// applyEntry applies a committed entry to its partition and answers the
// request it carries (on the node that proposed it).
func (w *worker) applyEntry(e plog.Entry) {
	p := w.s.deps.Partitions[e.Partition]
	var err error
	w.results, err = p.Apply(e.Index, e.Record, w.results[:0])
	if err != nil {
		w.s.opts.Logger.Error("BUG: cannot apply a committed record", "partition", e.Partition,
			"index", e.Index, "err", err)
		switch {
		case e.Req != nil && e.Req.Kind == work.KindAdmin:
			w.adminDone(e.Req, queue.Result{}, fmt.Errorf("cannot apply record %d: %w", e.Index, err))
		case e.Req != nil:
			w.fail(e.Req, frame.CodeInternal, fmt.Errorf("cannot apply record %d: %w", e.Index, err))
		}
		return
	}
	w.s.m.applied.Inc()
	rec, r := e.Record, e.Req // rec points into r: use it before r is handed on
	switch rec.Type {
	case queue.RecordMessages, queue.RecordSessionMessages:
		w.wake(rec.Dest)
		if r != nil {
			w.publishApplied(r, rec)
		}
	case queue.RecordAck:
		if r != nil {
			w.reply(r)
		}
	case queue.RecordTerminate:
		for _, res := range w.results {
			w.s.m.terminated.Add(int(res.Count))
		}
		if !frame.IsDeadLetter(rec.Dest) {
			w.wake(frame.AppendDeadLetter(nil, rec.Dest))
		}
		if r != nil {
			w.reply(r)
		}
	case queue.RecordGroupCreate:
		delete(w.creating, waitKey{string(rec.Dest), string(rec.Group)})
		w.wake(rec.Dest)
		if r != nil {
			r.Release()
		}
	case queue.RecordDeadLetter, queue.RecordDeadLetterFrom:
		w.s.m.deadLetter.Add(len(rec.Seqs))
		w.wake(frame.AppendDeadLetter(nil, rec.Dest))
		if r != nil {
			r.Release()
		}
	case queue.RecordGroupReset:
		delete(w.creating, waitKey{string(rec.Dest), string(rec.Group)}) // a group created at a start
		w.adminApplied(r, rec)
	case queue.RecordDestDelete:
		w.forgetPublished(rec.Dest)
		w.adminApplied(r, rec)
	default: // the admin records: one result each
		w.adminApplied(r, rec)
	}
}

// adminApplied wakes the fetches an admin record may serve (a reset or a
// replay) and answers its request, if any.
func (w *worker) adminApplied(r *work.Request, rec *queue.Record) {
	var res queue.Result
	if len(w.results) > 0 {
		res = w.results[0]
	}
	w.wake(rec.Dest)
	switch {
	case r == nil:
	case r.Kind == work.KindAdmin:
		w.adminDone(r, res, nil)
	default: // a group create at a start, proposed by requestGroup
		r.Release()
	}
}

// adminDone gives an admin request its outcome and releases it.
func (w *worker) adminDone(r *work.Request, res queue.Result, err error) {
	if r.Done != nil {
		r.Done(res, err)
	}
	r.Release()
}

// publishApplied copies the state machine's per-message results into the
// slots of r's open messages, in order, counts the messages stored for the
// destination's publish rate, and sends r to the ack stage. rec is r's
// record (it points into r).
func (w *worker) publishApplied(r *work.Request, rec *queue.Record) {
	w.countPublished(rec, w.results)
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

// proposalFailed answers a request whose record will never be committed:
// DISK_FULL when the log refused it for want of space (retry later),
// NOT_LEADER when this node no longer leads the partition, STORAGE
// otherwise.
func (w *worker) proposalFailed(r *work.Request, err error) {
	code := frame.CodeStorage
	switch {
	case errors.Is(err, wal.ErrDiskFull):
		code = frame.CodeDiskFull
	case errors.Is(err, plog.ErrNotLeader):
		code = frame.CodeNotLeader
	case errors.Is(err, plog.ErrClosed):
		code = frame.CodeShuttingDown
	}
	switch r.Kind {
	case work.KindPublish:
		for i := range r.Results {
			if !r.Resolved(i) {
				r.Resolve(i, frame.AckEntry{Code: code})
			}
		}
		w.reply(r)
	case work.KindAck:
		w.fail(r, code, err)
	case work.KindDeadLetter:
		// Try again later (a new leader decides again on its own).
		if code != frame.CodeNotLeader {
			w.feedback = append(w.feedback, plog.Proposal{Partition: r.Partition, Record: &r.Record, Req: r})
			return
		}
		r.Release()
	case work.KindAdmin:
		w.adminDone(r, queue.Result{}, err)
	case work.KindGroupCreate: // or a GroupReset creating a group at a start
		// The next FETCH of the group asks again.
		delete(w.creating, waitKey{string(r.Dest), string(r.Group)})
		r.Release()
	default:
		w.fail(r, code, err)
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
		r.Record = queue.Record{Type: queue.RecordDeadLetterFrom, Time: w.s.deps.Now(), Dest: r.Dest, Group: r.Group,
			Seqs: r.Seqs, Attempts: append([]uint32(nil), d.Attempts...), Reason: queue.ReasonMaxDeliver}
		w.feedback = append(w.feedback, plog.Proposal{Partition: p, Record: &r.Record, Req: r})
	}
}

// requestGroup asks persist to log a GroupCreate for (dest, group) once:
// at start if the FETCH said where (a GroupReset with queue.FlagCreate).
func (w *worker) requestGroup(p uint32, dest, group []byte, start queue.Start) {
	k := waitKey{string(dest), string(group)}
	if w.creating[k] {
		return
	}
	w.creating[k] = true
	r := work.NewRequest(work.KindGroupCreate, netio.Inbound{})
	r.Partition = p
	r.Dest = []byte(k.dest)
	r.Group = []byte(k.group)
	r.Record = queue.Record{Type: queue.RecordGroupCreate, Time: w.s.deps.Now(), Dest: r.Dest, Group: r.Group}
	if start.Kind != 0 {
		r.Record.Type, r.Record.Start, r.Record.Flags = queue.RecordGroupReset, start, queue.FlagCreate
	}
	w.feedback = append(w.feedback, plog.Proposal{Partition: p, Record: &r.Record, Req: r})
}

// flushFeedback offers queued records to persist without blocking.
func (w *worker) flushFeedback() {
	n := 0
	for _, p := range w.feedback {
		if !w.s.deps.Feedback.TryPush(p) {
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
		if err := w.s.deps.Snapshots.SaveSnapshot(s.partition, s.index, s.keepFrom, s.data); err != nil {
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
