package fanout

import (
	"errors"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/work"
)

// backlogger is what a connection may tell of its replies: Backlogged
// while the client leaves too many of them unread (netio.Conn.Backlogged).
type backlogger interface{ Backlogged() bool }

// backlogged reports whether r's connection is backlogged.
func backlogged(r *work.Request) bool {
	b, ok := r.Conn.(backlogger)
	return ok && b.Backlogged()
}

// fetch serves a FETCH now, or parks it until messages arrive, its group is
// created, or its wait runs out. A FETCH whose connection is backlogged is
// held back (holdBack) instead: its reply would only wait unread.
func (w *worker) fetch(r *work.Request, now int64) {
	if r.Conn != nil && r.Conn.Closed() {
		r.Release()
		return
	}
	if backlogged(r) {
		w.holdBack(r, now)
		return
	}
	p := w.s.deps.Partitions[r.Partition]
	var err error
	w.deliv, err = p.DeliverTo(r.Dest, r.Group, r.Max, now, memberKey(r), w.deliv[:0])
	switch {
	case errors.Is(err, queue.ErrUnknownGroup):
		w.requestGroup(r.Partition, r.Dest, r.Group, r.Start)
		w.park(r)
	case err == nil && len(w.deliv) == 0 && r.WaitMs > 0 && now < waitDeadline(r):
		if !r.Parked {
			r.Parked = true
			w.s.m.waiting.Inc()
		}
		w.park(r)
	case err != nil:
		w.fail(r, frame.CodeBadRequest, err)
	case len(w.deliv) > 0:
		w.send(r, p, now)
	default:
		w.replyMessages(r, nil)
	}
}

// send writes the deliveries in w.deliv to r's connection, as many as fit
// in one frame of the connection's max frame (never more); the rest are
// handed back at once without counting their attempt (Release), as are
// those whose message could not be read from the log: the consumer never
// saw them. See tooLarge for a first delivery that fits in no frame of the
// connection.
func (w *worker) send(r *work.Request, p *queue.Partition, now int64) {
	budget := w.maxFrame(r) - frame.HeaderSize - 4
	n := 0
	for _, d := range w.deliv {
		size := frame.DeliveryPrefix + int(d.Loc.Len)
		if size > budget {
			break
		}
		budget -= size
		n++
	}
	if n == 0 {
		w.tooLarge(r, p, now)
		return
	}
	n = w.load(r.Partition, w.deliv[:n])
	if n == 0 && len(w.deliv) > 0 {
		p.Release(r.Dest, r.Group, seqsOf(w.deliv), 0, now)
		w.fail(r, frame.CodeStorage, errors.New("cannot read messages from the log"))
		return
	}
	if rest := w.deliv[n:]; len(rest) > 0 {
		p.Release(r.Dest, r.Group, seqsOf(rest), 0, now)
	}
	for _, d := range w.deliv[:n] {
		if d.Attempt > 1 {
			w.s.m.redeliver.Inc()
			continue
		}
		if ts, ok := frame.MessageTime(d.Msg); ok && ts > 0 && now > ts {
			w.s.m.e2e.Update(time.Duration(now - ts).Seconds())
		}
	}
	w.s.m.delivered.Add(n)
	w.noteDelivered(r, n)
	parked, recv := r.Parked, r.RecvNanos // r is released by the reply
	w.replyMessages(r, w.deliv[:n])
	if !parked {
		w.s.m.fetchLat.Update(time.Duration(w.s.deps.Now() - recv).Seconds())
	}
}

// maxFrame returns the largest MESSAGES frame r's connection takes.
func (w *worker) maxFrame(r *work.Request) int {
	if r.Conn == nil {
		return w.s.opts.MaxFrame
	}
	return min(w.s.opts.MaxFrame, r.Conn.MaxFrame())
}

// tooLarge handles a first delivery whose message fits in no MESSAGES
// frame of r's connection (a message stored while the node had a larger
// max frame): it is not sent, and stays in flight as if delivered and not
// acked, so it comes back after the ack timeout with its attempt counted
// and, after max_deliver attempts, moves to the dead-letter destination
// rather than blocking the group. The other deliveries are handed back and
// r is answered with what remains, possibly nothing.
func (w *worker) tooLarge(r *work.Request, p *queue.Partition, now int64) {
	d := w.deliv[0]
	w.s.m.tooLarge.Inc()
	w.s.opts.Logger.Error("a message is larger than the connection's max frame: not delivered, it will be dead-lettered after max_deliver attempts; raise max_frame to deliver it",
		"destination", string(r.Dest), "group", string(r.Group), "seq", d.Seq, "attempt", d.Attempt,
		"frame_bytes", frame.DeliveryOverhead+int(d.Loc.Len), "max_frame", w.maxFrame(r))
	if rest := w.deliv[1:]; len(rest) > 0 {
		p.Release(r.Dest, r.Group, seqsOf(rest), 0, now)
	}
	w.replyMessages(r, nil)
}

// load reads the messages of ds that are not in memory from the log, one
// entry read per record, and returns how many of ds, from the front, have
// their message. A read that fails stops it there (and is logged). The
// last record read of each partition is kept: consecutive fetches mostly
// take their messages from the same record.
func (w *worker) load(partition uint32, ds []queue.Delivery) int {
	last := w.lastRead[partition]
	index, rec := last.index, last.rec
	defer func() { w.lastRead[partition] = readRecord{index, rec} }()
	for i := range ds {
		d := &ds[i]
		if d.Msg != nil {
			continue
		}
		if rec == nil || d.Loc.Index != index {
			var err error
			// A new buffer each time: the views of the previous one may
			// still be in use (it is never written to again).
			rec, err = w.s.deps.WAL.Read(partition, d.Loc.Index, nil)
			if err != nil {
				rec = nil
				w.s.m.readErrors.Inc()
				w.s.opts.Logger.Error("cannot read a message from the log", "partition", partition,
					"index", d.Loc.Index, "seq", d.Seq, "err", err)
				return i
			}
			index = d.Loc.Index
			w.s.m.logReads.Inc()
		}
		m, err := queue.MessageAt(rec, d.Loc)
		if err != nil {
			w.s.m.readErrors.Inc()
			w.s.opts.Logger.Error("BUG: a retained message is not where its record says", "partition", partition,
				"index", d.Loc.Index, "seq", d.Seq, "err", err)
			return i
		}
		d.Msg = m
		w.s.m.fromLog.Inc()
	}
	return len(ds)
}

// seqsOf returns the seqs of ds.
func seqsOf(ds []queue.Delivery) []uint64 {
	seqs := make([]uint64, len(ds))
	for i, d := range ds {
		seqs[i] = d.Seq
	}
	return seqs
}

// replyMessages answers r with a MESSAGES frame and releases it.
func (w *worker) replyMessages(r *work.Request, ds []queue.Delivery) {
	if r.Conn != nil && !r.Conn.Closed() {
		start := 0
		w.out = frame.StartMessages(w.out[:0], r.Corr)
		for _, d := range ds {
			w.out = frame.AppendDelivery(w.out, d.Seq, d.Attempt, d.Msg)
		}
		frame.FinishMessages(w.out, start, uint32(len(ds)))
		_ = r.Conn.Send(w.out)
	}
	r.Release()
}

// holdBack keeps a FETCH of a backlogged connection, to be offered again
// (fetch) every heldRetry until its connection drains or closes. A client
// that never reads its replies then costs the worker no messages read from
// the log, no MESSAGES encoded and copied only to be dropped with the
// connection (SLOW_CONSUMER or the write-stall timeout close it), and the
// other connections of the worker's partitions are not kept waiting behind
// that work. The FETCH keeps its credit meanwhile, and a long poll whose
// wait runs out while held is answered (empty) once its connection drains.
func (w *worker) holdBack(r *work.Request, now int64) {
	if len(w.held) == 0 {
		w.nextHeld = now + int64(heldRetry)
	}
	w.held = append(w.held, r)
	w.s.m.held.Add(1)
}

// retryHeld offers the held-back fetches again, in arrival order, once
// heldRetry has passed.
func (w *worker) retryHeld(now int64) {
	if len(w.held) == 0 || now < w.nextHeld {
		return
	}
	rs := w.held
	w.held = nil
	w.s.m.held.Add(-int64(len(rs)))
	for _, r := range rs {
		w.fetch(r, now)
	}
	clear(rs)
	if w.held == nil {
		w.held = rs[:0]
	}
}

// park keeps a fetch until something can answer it.
func (w *worker) park(r *work.Request) {
	k := waitKey{string(r.Dest), string(r.Group)}
	w.waiters[k] = append(w.waiters[k], r)
	w.s.m.parked.Add(1)
}

// wake retries the parked fetches on dest (all groups).
func (w *worker) wake(dest []byte) {
	now := w.s.deps.Now()
	var keys []waitKey
	for k := range w.waiters {
		if k.dest == string(dest) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		w.retry(k, now)
	}
}

// serveWaiters retries every parked fetch: redeliveries may be due, waits
// may have run out.
func (w *worker) serveWaiters(now int64) {
	keys := make([]waitKey, 0, len(w.waiters))
	for k := range w.waiters {
		keys = append(keys, k)
	}
	for _, k := range keys {
		w.retry(k, now)
	}
}

// retry re-runs the parked fetches of k in arrival order.
func (w *worker) retry(k waitKey, now int64) {
	rs := w.waiters[k]
	delete(w.waiters, k)
	w.s.m.parked.Add(-int64(len(rs)))
	for _, r := range rs {
		w.fetch(r, now)
	}
}

// nack hands deliveries back (after the optional delay) and confirms; a
// release (frame.FlagRelease) does not count their attempt.
// progress pushes out the deadlines of a PROGRESS's deliveries and
// answers how many moved.
func (w *worker) progress(r *work.Request) {
	r.Returned = w.s.deps.Partitions[r.Partition].Progress(r.Dest, r.Group, r.Seqs, w.s.deps.Now())
	w.s.m.progress.Add(r.Returned)
	w.reply(r)
}

func (w *worker) nack(r *work.Request) {
	now := w.s.deps.Now()
	p := w.s.deps.Partitions[r.Partition]
	giveBack := p.Nack
	if r.NackRelease {
		giveBack = p.Release
	}
	n := giveBack(r.Dest, r.Group, r.Seqs, time.Duration(r.DelayMs)*time.Millisecond, now)
	p.Sweep(now) // a NACK of the last attempt dead-letters at once
	if r.DelayMs == 0 {
		w.wake(r.Dest) // before the hand-off: r belongs to ack afterwards
	}
	r.Returned = n
	w.reply(r)
}
