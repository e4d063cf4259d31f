package plog

import (
	"context"
	"errors"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/work"
)

// ErrNotLeader is the error of a proposal for a partition this node does
// not lead (its leadership moved after the request was routed).
var ErrNotLeader = errors.New("swarmmq/plog: not the partition's leader")

// NotLeaderError is ErrNotLeader with what the log knows of the
// partition's leader: its text names the leader's node id and client
// address, so a client can retry there. errors.Is(err, ErrNotLeader)
// holds; Cause (may be nil) is why the proposal failed underneath.
type NotLeaderError struct {
	Partition uint32
	Leader    owner.Leader
	Cause     error
}

func (e *NotLeaderError) Error() string {
	s := fmt.Sprintf("partition %d is not led by this node", e.Partition)
	if e.Leader.Addr != "" {
		s += fmt.Sprintf("; its leader is %s at %s (term %d)", e.Leader.ID, e.Leader.Addr, e.Leader.Term)
	} else {
		s += "; no leader is known yet"
	}
	if e.Cause != nil {
		s += " (" + e.Cause.Error() + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// Unwrap returns the cause.
func (e *NotLeaderError) Unwrap() error { return e.Cause }

// ErrClosed is the error of a proposal the log took after it was stopped.
var ErrClosed = errors.New("swarmmq/plog: log closed")

// Proposal asks for one record to be appended to a partition's log.
type Proposal struct {
	// Partition is the partition whose log gets the record.
	Partition uint32
	// Record is the record to append; nil asks for no entry (see
	// Unwritten). It stays valid until Req is released.
	Record *queue.Record
	// Req is the request the entry answers on this node: a client request,
	// or an internal one for the records fanout proposes (GroupCreate,
	// DeadLetter). Never nil.
	Req *work.Request
}

// Appends reports whether p asks for an entry.
func (p Proposal) Appends() bool { return p.Record != nil }

// Entry is a committed entry of a partition's log.
type Entry struct {
	// Partition is the entry's partition.
	Partition uint32
	// Index is the entry's place in the partition's log (from 1, no gaps).
	Index uint64
	// Record is the entry's record, valid until it is applied and Req (if
	// any) released.
	Record *queue.Record
	// Req is the proposal's request on the node that proposed the entry;
	// nil on the others.
	Req *work.Request
}

// Kind says what became of a proposal.
type Kind uint8

// The kinds of Output.
const (
	Committed Kind = iota + 1 // Entry is committed: apply it
	Failed                    // the proposal will never commit: answer Entry.Req with Err
	Unwritten                 // the proposal asked for no entry: answer Entry.Req as it is
	// Lead: this node is the partition's Leader and every entry committed
	// before its term came out before this output; once it is applied, the
	// node may serve the partition (owner.Map.Promote(p, Leader)).
	Lead
	// Follow: this node no longer leads the partition (Leader is the new
	// one, if known); requests waiting on its state are answered NOT_LEADER.
	Follow
	// Restore: replace the partition's state by State, the state machine's
	// snapshot at Entry.Index (the records it points at are in the log).
	Restore
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Committed:
		return "committed"
	case Failed:
		return "failed"
	case Unwritten:
		return "unwritten"
	case Lead:
		return "lead"
	case Follow:
		return "follow"
	case Restore:
		return "restore"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Output is one outcome of the log, on the ring of its partition's fanout
// worker. For Failed and Unwritten only Entry.Partition and Entry.Req are
// set; for Lead and Follow Entry.Partition and Leader; for Restore
// Entry.Partition, Entry.Index and State. Only a replicated log emits Lead,
// Follow and Restore.
type Output struct {
	Kind  Kind
	Entry Entry
	// Err is why a Failed proposal will never commit.
	Err error
	// Leader is the partition's leader of a Lead or Follow.
	Leader owner.Leader
	// State is the snapshot of a Restore; it stays valid.
	State []byte
}

// Deps are what every implementation of the log is built with.
type Deps struct {
	// In takes the proposals, from one or more sequencers.
	In *graph.Ring[Proposal]
	// Out has one ring per fanout worker; an output goes to the ring of its
	// partition's worker (Owners).
	Out []*graph.Ring[Output]
	// Owners says which worker applies a partition and whether this node
	// leads it (proposals for a partition it does not lead fail with
	// ErrNotLeader).
	Owners *owner.Map
	// Now is the clock (unix ns).
	Now func() int64
}

// Deliver pushes o to the ring of its partition's worker, waiting while the
// ring is full. If the ring is closed (fanout has stopped), o's request is
// answered SHUTTING_DOWN and released, and Deliver reports false; a
// committed entry not applied then is applied when the log is replayed.
func Deliver(d Deps, t *owner.Table, o Output) bool {
	if err := d.Out[t.Worker(o.Entry.Partition)].Push(context.Background(), o); err != nil {
		if o.Entry.Req != nil {
			o.Entry.Req.Abort(frame.CodeShuttingDown, fmt.Errorf("the node is stopping: %w", err))
		}
		return false
	}
	return true
}
