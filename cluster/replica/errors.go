package replica

import (
	"errors"
	"fmt"
)

var (
	// ErrLost marks a proposal whose entry was replaced by another leader's:
	// it was not committed and never will be. Retry it (same message ids).
	ErrLost = errors.New("swarmmq/replica: proposal lost in a leader change")
	// ErrUnknown marks a proposal whose outcome the engine cannot tell: a
	// snapshot from the leader covered its index, or this node stopped
	// leading (an isolated leader steps down) before its entry committed.
	// It may be committed; retry with the same ids and let dedupe answer.
	ErrUnknown = errors.New("swarmmq/replica: proposal outcome unknown")
	// ErrDropped marks a proposal raft refused (too many uncommitted bytes,
	// a leadership transfer): not in the log. Retry after a backoff.
	ErrDropped = errors.New("swarmmq/replica: proposal dropped by raft")
	// ErrStopped is returned for proposals still pending when the engine
	// stops or fails, and by calls after Stop.
	ErrStopped = errors.New("swarmmq/replica: engine stopped")
	// ErrBusy is returned by Propose when the proposal queue is full.
	ErrBusy = errors.New("swarmmq/replica: too many queued proposals")
	// ErrNoPartition is returned for a partition this node does not replicate.
	ErrNoPartition = errors.New("swarmmq/replica: partition not replicated here")
	// ErrEmpty is returned by Propose for empty data: an empty entry is
	// raft's own (a new leader's first entry).
	ErrEmpty = errors.New("swarmmq/replica: empty proposal")
)

// NotLeaderError is returned for a proposal made on a node that does not
// lead the partition. Leader is the leader this node knows (0 if none);
// the caller retries there.
type NotLeaderError struct {
	Partition    uint32
	Leader, Term uint64
}

func (e *NotLeaderError) Error() string {
	if e.Leader == 0 {
		return fmt.Sprintf("swarmmq/replica: partition %d: not leader, no leader known (term %d)", e.Partition, e.Term)
	}
	return fmt.Sprintf("swarmmq/replica: partition %d: not leader, leader is %d (term %d)", e.Partition, e.Leader, e.Term)
}
