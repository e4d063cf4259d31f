package rlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// Defaults of Options.
const (
	// DefaultMaxBatch bounds the proposals taken from the ring at once.
	DefaultMaxBatch = 1024
	// DefaultStopWait bounds how long Stop waits for pending proposals to
	// commit (a leader without a quorum would wait forever).
	DefaultStopWait = 3 * time.Second
	// DefaultHandOffWait bounds how long HandOff waits for the partitions
	// this node leads to have other leaders: a transfer takes a few round
	// trips; raft gives one up after an election timeout (300–550 ms).
	DefaultHandOffWait = 2 * time.Second
)

// Node is one member of the cluster as the log needs it.
type Node struct {
	// ID is the node id of the configuration (its raft id is RaftID(ID,
	// its incarnation)).
	ID string
	// Client is the address clients reach it at (the NOT_LEADER hint).
	Client string
}

// Group is one partition this node replicates and its replicas' node ids.
type Group struct {
	Partition uint32
	Replicas  []string
}

// Options configure a Log.
type Options struct {
	// Self is this node's id; it must be among Nodes.
	Self string
	// Nodes are every member of the cluster.
	Nodes []Node
	// Groups are the partitions this node replicates.
	Groups []Group
	// Incarnations holds this node's incarnation (decided: Net.Decide)
	// and its peers': a leader replaces a replica's raft id by its newer
	// incarnation's (replica's Hooks.Replace).
	Incarnations *Incarnations
	// Raft tunes the engine (timeouts, memory bounds); its ID, Log, Groups,
	// Transport, StateMachine, Hooks and Logger are set by New.
	Raft replica.Options
	// MaxBatch bounds the proposals taken from the ring at once.
	MaxBatch int
	// StopWait bounds how long Stop waits for pending proposals.
	StopWait time.Duration
	// Announce, when set, tells the peers that this node leads a
	// partition (Net.Announce): when it starts serving it, and every
	// AnnounceInterval after.
	Announce         func(Announcement)
	AnnounceInterval time.Duration
	// SayIncarnation, when set, tells the peers this node's incarnation
	// (Net.SayIncarnation): at start and every AnnounceInterval.
	SayIncarnation func()
	// Metrics receives swarmmq_raft_*; nil keeps them in a private set.
	Metrics *metrics.Set
	// Logger receives the log's and raft's lines; nil discards them.
	Logger *slog.Logger
}

// EnsureDefaults fills the zero fields.
func (o *Options) EnsureDefaults() {
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.StopWait == 0 {
		o.StopWait = DefaultStopWait
	}
	if o.AnnounceInterval == 0 {
		o.AnnounceInterval = DefaultAnnounceInterval
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate lists every problem of o.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("swarmmq/rlog: "+format, args...)) }
	if err := CheckIDs(nodeIDs(o.Nodes)); err != nil {
		errs = append(errs, err)
	}
	if !slices.ContainsFunc(o.Nodes, func(n Node) bool { return n.ID == o.Self }) {
		bad("this node %q is not among the nodes", o.Self)
	}
	if o.Incarnations == nil {
		bad("no Incarnations")
	} else if _, ok := o.Incarnations.Own(); !ok {
		bad("this node's incarnation is not decided")
	}
	if o.MaxBatch < 1 {
		bad("MaxBatch %d < 1", o.MaxBatch)
	}
	for _, g := range o.Groups {
		if !slices.Contains(g.Replicas, o.Self) {
			bad("partition %d: replicas %v do not include this node %q", g.Partition, g.Replicas, o.Self)
		}
	}
	return errors.Join(errs...)
}

func nodeIDs(nodes []Node) []string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

// Deps are the log's neighbours: the seam's rings and owner table, the
// wal.Log that holds every group's raft log, and the transport to peers.
type Deps struct {
	plog.Deps
	Log       *wal.Log
	Transport replica.Transport
}

// Log is the raft partition log, a graph.Stage. Safe for concurrent use.
type Log struct {
	opts  Options
	deps  Deps
	eng   *replica.Engine
	self  uint64
	nodes map[uint64]Node // by node key

	// mu guards the partitions' FIFOs (parts) and is held while their
	// outputs are delivered, so that a partition's outputs leave in order
	// whichever goroutine (the drain, the engine's loop, Stop) decides them.
	mu      sync.Mutex
	parts   map[uint32]*fifo
	idle    *sync.Cond              // signalled when a FIFO empties
	leader  map[uint32]owner.Leader // what the engine last reported
	serving map[uint32]bool         // a Lead is out and no Follow since

	g       graph.Group
	done    chan struct{}
	quit    chan struct{} // ends the announcements
	started sync.Once
	stopped sync.Once
	m       logMetrics
}

// New builds the log and its raft engine, opening every group from
// deps.Log: a partition with a snapshot comes out at once as a Restore
// output. It starts nothing.
func New(opts Options, deps Deps) (*Log, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	inc, _ := opts.Incarnations.Own()
	l := &Log{opts: opts, deps: deps, self: RaftID(opts.Self, inc), nodes: map[uint64]Node{},
		parts: map[uint32]*fifo{}, leader: map[uint32]owner.Leader{}, serving: map[uint32]bool{}, done: make(chan struct{}),
		quit: make(chan struct{})}
	l.idle = sync.NewCond(&l.mu)
	l.m = newMetrics(opts.Metrics, l)
	for _, n := range opts.Nodes {
		l.nodes[nodeKey(n.ID)] = n
	}
	ro := opts.Raft
	ro.ID, ro.Log, ro.Transport, ro.StateMachine = l.self, deps.Log, deps.Transport, (*machine)(l)
	ro.Hooks = replica.Hooks{LeaderChange: l.leaderChange, Replace: opts.Incarnations.Successor,
		ConfChange: func(uint32, []uint64, []uint64) { l.m.confChanges.Inc() }}
	ro.Logger = opts.Logger
	ro.Groups = nil
	for _, g := range opts.Groups {
		rg := replica.Group{Partition: g.Partition}
		for _, id := range g.Replicas {
			rg.Peers = append(rg.Peers, RaftID(id, 0)) // the voters the group was created with
		}
		ro.Groups = append(ro.Groups, rg)
		l.parts[g.Partition] = &fifo{}
	}
	eng, err := replica.New(ro)
	if err != nil {
		return nil, err
	}
	l.eng = eng
	return l, nil
}

// Engine returns the raft engine (for the transport's receiving side, and
// for snapshots: Compact).
func (l *Log) Engine() *replica.Engine { return l.eng }

// Start starts the engine's loop and the goroutine that drains proposals.
func (l *Log) Start() error {
	l.started.Do(func() {
		l.eng.Start()
		l.g.Go("rlog", func() error {
			defer close(l.done)
			work.Drain(l.deps.In, l.opts.MaxBatch, l.propose)
			return nil
		})
		if l.opts.Announce != nil || l.opts.SayIncarnation != nil {
			l.g.Go("rlog-announce", func() error {
				l.announceLoop(l.quit)
				return nil
			})
		}
	})
	return nil
}

// Stop closes the proposal ring, lets the drain finish, waits (at most
// Options.StopWait, and ctx) until every proposal taken has its outcome,
// then stops the engine: what is still pending then fails
// (plog.ErrClosed). Idempotent.
func (l *Log) Stop(ctx context.Context) error {
	l.stopped.Do(func() {
		l.deps.In.Close()
		close(l.quit)
	})
	l.started.Do(func() { close(l.done) })
	select {
	case <-l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := l.g.Wait(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, l.opts.StopWait)
	defer cancel()
	wake := context.AfterFunc(wctx, func() {
		l.mu.Lock()
		l.idle.Broadcast()
		l.mu.Unlock()
	})
	defer wake()
	l.mu.Lock()
	for l.outstandingLocked() > 0 && wctx.Err() == nil && l.eng.Err() == nil {
		l.idle.Wait()
	}
	l.mu.Unlock()
	return l.eng.Stop(ctx)
}

// HandOff transfers the leadership of every partition this node leads to
// one of its followers before a clean stop (replica.Engine.HandOff), and
// waits until each has another leader, at most DefaultHandOffWait (and
// ctx). Call it before the stages stop: requests still arriving are
// forwarded to the new leaders. It returns how many partitions this node
// still leads and, if the wait ended for another reason than that none
// of their followers can take them, why.
func (l *Log) HandOff(ctx context.Context) (int, error) {
	wctx, cancel := context.WithTimeout(ctx, DefaultHandOffWait)
	defer cancel()
	err := l.eng.HandOff(wctx)
	left := 0
	for p := range l.parts {
		if ld, lerr := l.eng.Leadership(p); lerr == nil && ld.Leader == l.self {
			left++
		}
	}
	if left == 0 {
		err = nil
	}
	return left, err
}

// outstandingLocked counts the proposals without an outcome.
func (l *Log) outstandingLocked() int {
	n := 0
	for _, f := range l.parts {
		n += len(f.slots)
	}
	return n
}

// propose handles one drained batch of proposals, in order.
func (l *Log) propose(props []plog.Proposal) {
	t := l.deps.Owners.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range props {
		l.proposeLocked(p, t)
	}
}

func (l *Log) proposeLocked(p plog.Proposal, t *owner.Table) {
	f := l.parts[p.Partition]
	switch {
	case f == nil || !t.Leads(p.Partition):
		l.m.notLeader.Inc()
		l.settleLocked(f, &slot{prop: p}, l.failure(p.Partition, nil))
		return
	case !p.Appends():
		l.settleLocked(f, &slot{prop: p}, plog.Output{Kind: plog.Unwritten})
		return
	}
	s := &slot{prop: p, data: queue.AppendRecord(nil, p.Record)}
	f.slots = append(f.slots, s)
	if err := l.eng.Propose(p.Partition, s.data, s); err != nil {
		l.decideLocked(f, s, l.failure(p.Partition, err))
		return
	}
	l.m.proposals.Inc()
}

// failure is the Failed output of a proposal of partition p that failed
// with err (nil: p is not led here).
func (l *Log) failure(p uint32, err error) plog.Output {
	if errors.Is(err, replica.ErrStopped) {
		return plog.Output{Kind: plog.Failed, Err: fmt.Errorf("%w: %w", plog.ErrClosed, err)}
	}
	l.m.failed.Inc()
	return plog.Output{Kind: plog.Failed, Err: &plog.NotLeaderError{Partition: p, Leader: l.leaderOf(p), Cause: err}}
}

// leaderOf returns what the owner table knows of p's leader.
func (l *Log) leaderOf(p uint32) owner.Leader { return l.deps.Owners.Load().Leader(p) }

// deliver hands o for partition p to its fanout worker.
func (l *Log) deliver(p uint32, o plog.Output) {
	o.Entry.Partition = p
	plog.Deliver(l.deps.Deps, l.deps.Owners.Load(), o)
}

// SaveSnapshot is the raft log's fanout.Snapshotter: the partition's
// state at index goes to the engine (Compact), which stores it and trims
// the log below keepFrom in its next write, and sends it, with the records
// it points at, to a replica too far behind for entries. state is copied.
func (l *Log) SaveSnapshot(p uint32, index, keepFrom uint64, state []byte) error {
	l.eng.Compact(p, index, keepFrom, append([]byte(nil), state...))
	return nil
}
