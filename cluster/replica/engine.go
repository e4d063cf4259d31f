package replica

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Message is a raft message of one partition's group.
type Message struct {
	Partition uint32
	Msg       *pb.Message
}

// Transport carries messages to peers. Send is called by the loop after the
// fsync that covers what the messages announce; it must not block for
// long (queue and return) and owns msgs after the call. Delivery may fail
// silently: raft retries. A transport that cannot reach a peer should call
// Engine.ReportUnreachable, and report the outcome of a MsgSnap with
// Engine.ReportSnapshot.
type Transport interface {
	Send(msgs []Message)
}

// Entry is a committed entry handed to the state machine.
type Entry struct {
	Index, Term uint64
	// Data is the record; empty for raft's own entry of a new leader
	// (apply nothing). It stays valid after Apply returns.
	Data []byte
	// Ctx is the ctx given to Propose when this node proposed the entry,
	// else nil.
	Ctx any
}

// StateMachine is the application the engine feeds. Its methods are called
// from the loop goroutine, one at a time, in each partition's log order;
// Lost also from the goroutine that calls Stop, once the loop has ended.
type StateMachine interface {
	// Apply applies committed entries of partition p. An error stops the
	// engine.
	Apply(p uint32, ents []Entry) error
	// Restore replaces the state of p by the snapshot state taken at index.
	// The records the state points at are already in the log.
	Restore(p uint32, index uint64, state []byte) error
	// Lost reports that the proposal made with ctx will never be applied
	// (ErrLost, ErrDropped, *NotLeaderError, ErrStopped) or may or may not
	// have been (ErrUnknown).
	Lost(p uint32, ctx any, err error)
}

// Leadership is what a node knows of a partition's leader.
type Leadership struct {
	Term   uint64
	Leader uint64 // 0: none known
	// Serving is set on the leader once it has applied an entry of its own
	// term: its state is then complete, and it may answer reads.
	Serving bool
}

// Hooks are optional callbacks, called from the loop goroutine.
type Hooks struct {
	// LeaderChange is called when a partition's term, leader or Serving
	// changes.
	LeaderChange func(p uint32, l Leadership)
	// Replace, when set, is asked by a partition's leader, for each other
	// voter, whether it has a successor: the raft id of the same node's
	// newer incarnation (its data directory was wiped), or 0. The leader
	// then replaces it (conf.go). It must be cheap and must not block.
	Replace func(p uint32, voter uint64) uint64
	// ConfChange is called when a conf change entry of partition p is
	// applied, with the voters it leaves (and the outgoing ones while the
	// configuration is joint).
	ConfChange func(p uint32, voters, outgoing []uint64)
}

// Engine drives the raft groups of the partitions this node replicates,
// from one goroutine (the loop). Its methods are safe for concurrent use.
// Lock order: in only (the loop holds it only to take its input).
type Engine struct {
	opts   Options
	groups map[uint32]*group
	order  []*group // by partition: a deterministic iteration order

	in struct {
		sync.Mutex
		msgs     []Message
		props    []*proposal
		reports  []report
		compacts []compaction
		built    []built
		handoff  bool
		stopped  bool
		err      error
	}
	// changed is closed and replaced at every leadership change (HandOff
	// waits on it).
	changed struct {
		sync.Mutex
		ch chan struct{}
	}
	// handingOff is the loop's: HandOff was called (handoff.go).
	handingOff bool
	stats      struct {
		iterations, writes, fsyncs, entries, dropped atomic.Uint64
		stale, confProposals, confChanges            atomic.Uint64
	}
	// bq holds the snapshot payloads the loop asked for (snapbuild.go);
	// bwake wakes the builder, bdone is closed when it has ended;
	// buildHook, if set (tests), runs before each build on the builder.
	bq struct {
		sync.Mutex
		reqs []buildReq
	}
	bwake     chan struct{}
	bdone     chan struct{}
	buildHook func(p uint32)
	wake      chan struct{}
	quit      chan struct{}
	done      chan struct{}
	once      sync.Once
	run       atomic.Bool
}

type report struct {
	p       uint32
	to      uint64
	snap    bool
	failure bool
}

type compaction struct {
	p               uint32
	index, keepFrom uint64
	state           []byte
}

// New opens every group from the log and restores the state machine from
// each partition's snapshot. It starts nothing: Start runs the loop.
func New(opts Options) (*Engine, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, groups: map[uint32]*group{}, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}), bwake: make(chan struct{}, 1), bdone: make(chan struct{})}
	e.changed.ch = make(chan struct{})
	for _, gc := range opts.Groups {
		g, err := e.openGroup(gc)
		if err != nil {
			return nil, err
		}
		e.groups[gc.Partition] = g
		e.order = append(e.order, g)
	}
	slices.SortFunc(e.order, func(a, b *group) int { return int(a.p) - int(b.p) })
	return e, nil
}

func (e *Engine) openGroup(gc Group) (*group, error) {
	st, _, err := openStorage(e.opts.Log, gc.Partition, gc.Peers, e.opts.CacheBytes)
	if err != nil {
		return nil, err
	}
	st.request, st.lg = e.requestBuild, e.opts.Logger
	applied := uint64(0)
	if st.snapIndex > 0 {
		idx, state, _, err := e.opts.Log.LoadSnapshot(gc.Partition)
		if err != nil {
			return nil, err
		}
		if err := e.opts.StateMachine.Restore(gc.Partition, idx, state); err != nil {
			return nil, fmt.Errorf("swarmmq/replica: partition %d: restore: %w", gc.Partition, err)
		}
		applied = idx
	}
	o := &e.opts
	rn, err := raft.NewRawNode(&raft.Config{
		ID: o.ID, ElectionTick: o.ElectionTicks, HeartbeatTick: o.HeartbeatTicks, Storage: st, Applied: applied,
		MaxSizePerMsg: o.MaxSizePerMsg, MaxCommittedSizePerReady: o.MaxCommittedBytesPerReady,
		MaxUncommittedEntriesSize: o.MaxUncommittedBytes, MaxInflightMsgs: o.MaxInflightMsgs,
		MaxInflightBytes: o.MaxInflightBytes, CheckQuorum: true, PreVote: true,
		DisableProposalForwarding: true, Logger: raftLogger{e.opts.Logger.With("partition", gc.Partition)},
	})
	if err != nil {
		return nil, fmt.Errorf("swarmmq/replica: partition %d: %w", gc.Partition, err)
	}
	g := &group{e: e, p: gc.Partition, rn: rn, st: st, applied: applied,
		confs: []confAt{{index: st.snapIndex, cs: proto.CloneOf(st.cs)}}, startCommit: st.hs.GetCommit()}
	g.lead.Store(&Leadership{Term: st.hs.GetTerm()})
	return g, nil
}

// Start runs the loop on a goroutine of its own (pprof label
// swarmmq=raft-loop), and the builder of the snapshots sent to followers
// on another (swarmmq=raft-snapshots), until Stop.
func (e *Engine) Start() {
	if !e.run.CompareAndSwap(false, true) {
		return
	}
	go pprof.Do(context.Background(), pprof.Labels("swarmmq", "raft-loop"), func(context.Context) { e.loop() })
	go pprof.Do(context.Background(), pprof.Labels("swarmmq", "raft-snapshots"), func(context.Context) { e.builder() })
}

// Stop stops the loop and the snapshot builder and waits for them (or for
// ctx), then fails every pending proposal with ErrStopped. It is
// idempotent. Without Start it only fails the pending proposals.
func (e *Engine) Stop(ctx context.Context) error {
	e.once.Do(func() {
		close(e.quit)
		if !e.run.Load() {
			close(e.done)
			close(e.bdone)
		}
	})
	for _, ch := range []chan struct{}{e.done, e.bdone} {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.shutdown(ErrStopped)
	return nil
}

func (e *Engine) loop() {
	defer close(e.done)
	t := time.NewTicker(e.opts.TickInterval)
	defer t.Stop()
	for {
		ticks := 0
		select {
		case <-e.quit:
			return
		case <-t.C:
			ticks = 1
		case <-e.wake:
		}
		if err := e.step(ticks); err != nil {
			e.opts.Logger.Error("raft loop failed", "err", err.Error())
			e.shutdown(err)
			return
		}
	}
}

// shutdown fails every queued and pending proposal and refuses new input.
func (e *Engine) shutdown(cause error) {
	e.in.Lock()
	e.in.stopped = true
	if e.in.err == nil {
		e.in.err = cause
	}
	props := e.in.props
	e.in.props = nil
	e.in.Unlock()
	err := cause
	if !errors.Is(err, ErrStopped) {
		err = fmt.Errorf("%w: %w", ErrStopped, cause)
	}
	for _, p := range props {
		e.lost(p.p, p, err)
	}
	for _, g := range e.order {
		g.failAll(err)
	}
}

// Err returns the error that stopped the loop, or nil.
func (e *Engine) Err() error {
	e.in.Lock()
	defer e.in.Unlock()
	if errors.Is(e.in.err, ErrStopped) {
		return nil
	}
	return e.in.err
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Stats are counters of the loop since New.
type Stats struct {
	// Iterations of the loop; Writes of them wrote a batch, Fsyncs synced it.
	Iterations, Writes, Fsyncs uint64
	// Entries written to the log (all partitions).
	Entries uint64
	// Dropped counts received messages dropped because the loop's queue
	// was full.
	Dropped uint64
	// Stale counts received messages dropped because they were addressed
	// to another raft id (an earlier incarnation of this node).
	Stale uint64
	// ConfProposals counts the membership changes this node proposed as a
	// leader; ConfChanges the conf change entries it applied.
	ConfProposals, ConfChanges uint64
}

// Stats returns the loop's counters.
func (e *Engine) Stats() Stats {
	return Stats{Iterations: e.stats.iterations.Load(), Writes: e.stats.writes.Load(),
		Fsyncs: e.stats.fsyncs.Load(), Entries: e.stats.entries.Load(), Dropped: e.stats.dropped.Load(),
		Stale: e.stats.stale.Load(), ConfProposals: e.stats.confProposals.Load(), ConfChanges: e.stats.confChanges.Load()}
}

// Leadership returns what this node knows of partition p's leader.
func (e *Engine) Leadership(p uint32) (Leadership, error) {
	g := e.groups[p]
	if g == nil {
		return Leadership{}, ErrNoPartition
	}
	return *g.lead.Load(), nil
}

// Propose submits data (a record, not empty) to partition p. It returns an
// error at once if this node does not lead p (*NotLeaderError with the
// leader it knows), the queue is full, or the engine stopped. Otherwise the
// outcome comes later, exactly once: the committed entry reaches Apply with
// Entry.Ctx == ctx, or StateMachine.Lost(p, ctx, err) is called. data must
// not change until then.
func (e *Engine) Propose(p uint32, data []byte, ctx any) error {
	return e.propose(&proposal{p: p, data: data, ctx: ctx})
}

func (e *Engine) propose(pr *proposal) error {
	g := e.groups[pr.p]
	if g == nil {
		return ErrNoPartition
	}
	if len(pr.data) == 0 {
		return ErrEmpty
	}
	if l := g.lead.Load(); l.Leader != e.opts.ID {
		return &NotLeaderError{Partition: pr.p, Leader: l.Leader, Term: l.Term}
	}
	e.in.Lock()
	switch {
	case e.in.stopped:
		e.in.Unlock()
		return ErrStopped
	case len(e.in.props) >= e.opts.MaxQueuedProposals:
		e.in.Unlock()
		return ErrBusy
	}
	e.in.props = append(e.in.props, pr)
	e.in.Unlock()
	e.poke()
	return nil
}

// waiter is the ctx of ProposeWait's proposals.
type waiter struct {
	index uint64
	err   error
	done  chan struct{}
}

// ProposeWait proposes data and waits until this node has applied it (nil
// and its index) or it is lost, or ctx ends. After ctx ends the proposal may
// still be applied.
func (e *Engine) ProposeWait(ctx context.Context, p uint32, data []byte) (uint64, error) {
	w := &waiter{done: make(chan struct{})}
	if err := e.propose(&proposal{p: p, data: data, w: w}); err != nil {
		return 0, err
	}
	select {
	case <-w.done:
		return w.index, w.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Step hands the engine a message received from a peer. Messages for a
// partition not replicated here are dropped, as are messages beyond
// Options.MaxQueuedMessages waiting for the loop (counted in
// Stats.Dropped): raft tolerates lost messages and sends again. A message
// addressed to another raft id than Options.ID is dropped (Stats.Stale):
// it was meant for an earlier incarnation of this node, whose log and
// votes this one does not have (a heartbeat's commit index beyond its log
// would make raft panic).
func (e *Engine) Step(m Message) {
	if m.Msg.GetTo() != e.opts.ID {
		e.stats.stale.Add(1)
		return
	}
	e.in.Lock()
	switch {
	case e.in.stopped:
	case len(e.in.msgs) >= e.opts.MaxQueuedMessages:
		e.stats.dropped.Add(1)
	default:
		e.in.msgs = append(e.in.msgs, m)
	}
	e.in.Unlock()
	e.poke()
}

// ReportUnreachable tells raft that a message to peer to in partition p
// could not be sent.
func (e *Engine) ReportUnreachable(p uint32, to uint64) { e.addReport(report{p: p, to: to}) }

// ReportSnapshot tells raft the outcome of sending a snapshot to peer to.
func (e *Engine) ReportSnapshot(p uint32, to uint64, failed bool) {
	e.addReport(report{p: p, to: to, snap: true, failure: failed})
}

func (e *Engine) addReport(r report) {
	e.in.Lock()
	if !e.in.stopped {
		e.in.reports = append(e.in.reports, r)
	}
	e.in.Unlock()
	e.poke()
}

// Compact stores the state machine's snapshot of partition p, taken at the
// applied index, and trims the log below keepFrom (the oldest record the
// state still points at). It takes effect in the loop's next write, in the
// same fsync as the raft entries; an invalid request is logged and skipped.
func (e *Engine) Compact(p uint32, index, keepFrom uint64, state []byte) {
	e.in.Lock()
	if !e.in.stopped {
		e.in.compacts = append(e.in.compacts, compaction{p: p, index: index, keepFrom: keepFrom, state: state})
	}
	e.in.Unlock()
	e.poke()
}

func (e *Engine) lost(p uint32, pr *proposal, err error) {
	if pr.w != nil {
		pr.w.err = err
		close(pr.w.done)
		return
	}
	e.opts.StateMachine.Lost(p, pr.ctx, err)
}
