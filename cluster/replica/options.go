package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/swarmmq/swarmmq/wal"
)

// Defaults used by Options.EnsureDefaults for fields left at zero. The
// reasons are in docs/cluster.md, "The raft loop".
const (
	// DefaultTickInterval is the period of raft's logical clock.
	DefaultTickInterval = 50 * time.Millisecond
	// DefaultHeartbeatTicks: a leader heartbeats every tick (50 ms).
	DefaultHeartbeatTicks = 1
	// DefaultElectionTicks: a follower that hears no leader for a
	// randomized 6–11 ticks (300–550 ms) starts a pre-vote; a leader that
	// hears from no quorum for 6 ticks steps down (CheckQuorum).
	DefaultElectionTicks = 6
	// DefaultMaxSizePerMsg bounds the entries of one append message.
	DefaultMaxSizePerMsg = 256 << 10
	// DefaultMaxInflightMsgs bounds the append messages in flight to one
	// follower of one partition.
	DefaultMaxInflightMsgs = 64
	// DefaultMaxInflightBytes bounds their bytes.
	DefaultMaxInflightBytes = 4 << 20
	// DefaultMaxUncommittedBytes bounds a leader's uncommitted entries of
	// one partition; proposals beyond it fail with ErrDropped.
	DefaultMaxUncommittedBytes = 16 << 20
	// DefaultMaxCommittedBytesPerReady bounds the committed entries handed
	// to Apply for one partition in one iteration.
	DefaultMaxCommittedBytesPerReady = 4 << 20
	// DefaultCacheBytes bounds the tail of each partition's log kept in
	// memory for followers and apply.
	DefaultCacheBytes = 4 << 20
	// DefaultMaxQueuedProposals bounds the proposals waiting for the loop.
	DefaultMaxQueuedProposals = 8192
	// DefaultMaxQueuedMessages bounds the received messages waiting for the
	// loop; beyond it they are dropped (raft sends again).
	DefaultMaxQueuedMessages = 1 << 16
)

// Group is one partition this node replicates.
type Group struct {
	// Partition is the partition id (the wal partition).
	Partition uint32
	// Peers are the raft ids the partition's group was created with (its
	// voters at index 0), the same on every replica: the configuration a
	// replica with no raft state starts from. This node need not be among
	// them: a later incarnation of a replica (cluster/rlog) starts from
	// them too, never campaigns while it is not a voter, and is made one
	// by the leader (conf.go); the log's conf changes from index 1 on, or
	// a snapshot's ConfState, bring it to the group's configuration.
	Peers []uint64
}

// Options configure an Engine. Zero fields take the defaults above.
type Options struct {
	// ID is this node's raft id (non-zero, the same in every group).
	ID uint64
	// Log stores every group's raft log; the caller opens and closes it.
	Log *wal.Log
	// Groups are the partitions this node replicates.
	Groups []Group
	// Transport sends the engine's messages.
	Transport Transport
	// StateMachine receives committed entries and snapshots.
	StateMachine StateMachine
	// Hooks are optional callbacks from the loop.
	Hooks Hooks

	// TickInterval is the period of raft's clock (DefaultTickInterval).
	TickInterval time.Duration
	// HeartbeatTicks is the leader's heartbeat period in ticks.
	HeartbeatTicks int
	// ElectionTicks is the election timeout in ticks (randomized up to
	// twice that by raft), and the CheckQuorum period.
	ElectionTicks int
	// MaxSizePerMsg bounds the entries of one append message.
	MaxSizePerMsg uint64
	// MaxInflightMsgs bounds the appends in flight to one follower.
	MaxInflightMsgs int
	// MaxInflightBytes bounds their bytes.
	MaxInflightBytes uint64
	// MaxUncommittedBytes bounds a leader's uncommitted entries per group.
	MaxUncommittedBytes uint64
	// MaxCommittedBytesPerReady bounds the entries applied per group per
	// iteration.
	MaxCommittedBytesPerReady uint64
	// CacheBytes bounds the in-memory tail of each group's log.
	CacheBytes int
	// MaxQueuedProposals bounds the proposals waiting for the loop.
	MaxQueuedProposals int
	// MaxQueuedMessages bounds the received messages waiting for the loop.
	MaxQueuedMessages int
	// Logger receives raft's and the engine's log lines; nil discards.
	Logger *slog.Logger
}

// EnsureDefaults fills the zero fields.
func (o *Options) EnsureDefaults() {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set64 := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	if o.TickInterval == 0 {
		o.TickInterval = DefaultTickInterval
	}
	set(&o.HeartbeatTicks, DefaultHeartbeatTicks)
	set(&o.ElectionTicks, DefaultElectionTicks)
	set64(&o.MaxSizePerMsg, DefaultMaxSizePerMsg)
	set(&o.MaxInflightMsgs, DefaultMaxInflightMsgs)
	set64(&o.MaxInflightBytes, DefaultMaxInflightBytes)
	set64(&o.MaxUncommittedBytes, DefaultMaxUncommittedBytes)
	set64(&o.MaxCommittedBytesPerReady, DefaultMaxCommittedBytesPerReady)
	set(&o.CacheBytes, DefaultCacheBytes)
	set(&o.MaxQueuedProposals, DefaultMaxQueuedProposals)
	set(&o.MaxQueuedMessages, DefaultMaxQueuedMessages)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate lists every problem of the options.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("swarmmq/replica: "+format, args...)) }
	if o.ID == 0 {
		bad("ID must not be 0")
	}
	if o.Log == nil {
		bad("no Log")
	}
	if o.Transport == nil {
		bad("no Transport")
	}
	if o.StateMachine == nil {
		bad("no StateMachine")
	}
	if o.ElectionTicks <= o.HeartbeatTicks {
		bad("ElectionTicks %d must exceed HeartbeatTicks %d", o.ElectionTicks, o.HeartbeatTicks)
	}
	seen := map[uint32]bool{}
	for _, g := range o.Groups {
		if seen[g.Partition] {
			bad("partition %d listed twice", g.Partition)
		}
		seen[g.Partition] = true
		if len(g.Peers) == 0 {
			bad("partition %d: no peers", g.Partition)
		}
		for _, id := range g.Peers {
			if id == 0 {
				bad("partition %d: peer id 0", g.Partition)
			}
		}
	}
	return errors.Join(errs...)
}
