package fanout

import (
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
)

// worker owns a subset of the partitions. Used by its goroutine only.
type worker struct {
	s       *Stage
	id      int
	parts   []uint32 // owned partition ids
	waiters map[waitKey][]*work.Request
	// held are fetches of backlogged connections (holdBack), offered
	// again at nextHeld.
	held     []*work.Request
	nextHeld int64
	// creating marks groups whose GroupCreate record is on its way.
	creating map[waitKey]bool
	// feedback holds proposals that did not fit into the log's ring yet.
	feedback []plog.Proposal
	lastSnap map[uint32]uint64
	// snaps takes encoded snapshots to the worker's snapshot writer, so
	// the synced write does not stall the partitions; at most one waits.
	snaps chan snapshot
	// spare takes snapshot buffers back from the writer for reuse.
	spare chan []byte
	// lastRead is the last log record read per partition, for messages
	// not in memory.
	lastRead map[uint32]readRecord
	// queries are reads of the partitions from other goroutines
	// (Stage.Inspect); exited is closed when run returns.
	queries chan query
	exited  chan struct{}
	// series are the per-destination and per-group gauges stats set last
	// time (those of a deleted destination or group are unregistered).
	series map[string]bool
	// pub counts the messages stored per destination for the publish
	// rates (publish.go); started is when the worker was made.
	pub     map[string]*pubRate
	started int64
	// members are the consumers fetching for each group (members.go):
	// destination → group → its members.
	members map[string]map[string]*groupMembers

	results   []queue.Result
	deliv     []queue.Delivery
	dead      []queue.DeadSet
	out       []byte
	nextStats int64
	nextSweep int64
}

// sweepInterval bounds how often a busy worker looks for exhausted
// deliveries between timer wake-ups (which always sweep).
const sweepInterval = 10 * time.Millisecond

// heldRetry is how often fetches held back for a backlogged connection are
// offered again. netio re-reads a plaintext connection's unwritten bytes
// every 100ms, so retrying much faster finds nothing new.
const heldRetry = 25 * time.Millisecond

// readRecord is a log record read back, by index.
type readRecord struct {
	index uint64
	rec   []byte
}

// waitKey names the long-polls of one group on one destination.
type waitKey struct {
	dest, group string
}

func newWorker(s *Stage, id int) *worker {
	w := &worker{
		s: s, id: id,
		waiters:  map[waitKey][]*work.Request{},
		creating: map[waitKey]bool{},
		lastSnap: map[uint32]uint64{},
		snaps:    make(chan snapshot, 1),
		spare:    make(chan []byte, 2),
		lastRead: map[uint32]readRecord{},
		queries:  make(chan query),
		exited:   make(chan struct{}),
		pub:      map[string]*pubRate{},
		members:  map[string]map[string]*groupMembers{},
		started:  s.deps.Now(),
	}
	// A partition never changes worker (package owner): the list is fixed.
	w.parts = s.deps.Owners.Load().WorkerPartitions(nil, id)
	for _, p := range w.parts {
		w.lastSnap[p] = s.deps.Partitions[p].AppliedIndex()
	}
	return w
}

// run is the worker loop: apply the log's outcomes, serve requests, sleep
// until input or a deadline.
func (w *worker) run() {
	defer close(w.exited)
	in, log := w.s.deps.In[w.id], w.s.deps.Log[w.id]
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	batch := make([]*work.Request, 0, work.DefaultBatch)
	outs := make([]plog.Output, 0, work.DefaultBatch)
	timedOut := false
	for {
		outs = log.PopBatch(outs[:0], work.DefaultBatch)
		for _, o := range outs {
			w.apply(o)
		}
		clear(outs)
		batch = in.PopBatch(batch[:0], work.DefaultBatch)
		for _, r := range batch {
			w.handle(r)
		}
		clear(batch)
		w.answerQueries()
		now := w.s.deps.Now()
		w.tick(now, timedOut)
		timedOut = false
		if len(batch) > 0 || len(outs) > 0 {
			continue
		}
		if in.Closed() && log.Closed() {
			w.shutdown()
			return
		}
		timer.Reset(w.sleep(now))
		select {
		case <-log.C():
		case <-in.C():
		case <-timer.C:
			timedOut = true
		case q := <-w.queries:
			w.answer(q)
		}
	}
}

// handle serves one FETCH or NACK.
func (w *worker) handle(r *work.Request) {
	switch r.Kind {
	case work.KindFetch:
		now := w.s.deps.Now()
		w.noteFetch(r, now)
		w.fetch(r, now)
	case work.KindNack:
		w.nack(r)
	case work.KindProgress:
		w.progress(r)
	default:
		w.fail(r, frame.CodeInternal, fmt.Errorf("BUG: fanout got a %d request", r.Kind))
	}
}

// tick does the time-driven work: age expiry, dead letters, redeliveries
// to parked fetches, long-poll timeouts, snapshots, stats, feedback retry.
func (w *worker) tick(now int64, timedOut bool) {
	sweep := timedOut || now >= w.nextSweep
	if sweep {
		w.nextSweep = now + int64(sweepInterval)
	}
	t := w.s.deps.Owners.Load()
	for _, p := range w.parts {
		part := w.s.deps.Partitions[p]
		part.ExpireAge(now)
		if sweep {
			part.Sweep(now)
		}
		if t.Leads(p) { // only the leader proposes dead letters
			w.takeDead(p)
		}
	}
	w.flushFeedback()
	w.retryHeld(now)
	if sweep {
		// New messages wake their destination's fetches at once; this
		// catches redeliveries coming due and long polls running out.
		w.serveWaiters(now)
	}
	w.maybeSnapshot()
	if now >= w.nextStats {
		w.stats()
		w.idlePublished(now)
		w.pruneMembers(now)
		w.nextStats = now + int64(w.s.opts.StatsInterval)
	}
}

// sleep returns how long the worker may wait for input.
func (w *worker) sleep(now int64) time.Duration {
	next := w.nextStats
	for _, p := range w.parts {
		if d, ok := w.s.deps.Partitions[p].NextDeadline(); ok && d < next {
			next = d
		}
	}
	for _, rs := range w.waiters {
		for _, r := range rs {
			if d := waitDeadline(r); d < next {
				next = d
			}
		}
	}
	if len(w.feedback) > 0 {
		next = min(next, now+int64(time.Millisecond))
	}
	if len(w.held) > 0 {
		next = min(next, w.nextHeld)
	}
	return max(time.Duration(next-now), 0)
}

func waitDeadline(r *work.Request) int64 {
	return r.RecvNanos + int64(r.WaitMs)*int64(time.Millisecond)
}

// shutdown answers every parked or held-back fetch with an empty batch.
func (w *worker) shutdown() {
	for _, r := range w.held {
		w.replyMessages(r, nil)
	}
	w.s.m.held.Add(-int64(len(w.held)))
	w.held = nil
	for k, rs := range w.waiters {
		for _, r := range rs {
			w.replyMessages(r, nil)
		}
		w.s.m.parked.Add(-int64(len(rs)))
		delete(w.waiters, k)
	}
	for _, p := range w.feedback {
		p.Req.Release()
	}
	w.feedback = nil
	close(w.snaps)
}

// reply hands r to the ack stage, which answers and releases it.
func (w *worker) reply(r *work.Request) {
	work.Forward(w.s.deps.Ack, r)
}

// fail answers r with an error code through the ack stage.
func (w *worker) fail(r *work.Request, code frame.Code, err error) {
	r.Err = &frame.Error{Code: code, Msg: err.Error()}
	w.reply(r)
}
