package fanout

import (
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/wal"
)

// Snapshotter stores a partition's snapshot taken at index and trims its
// log below keepFrom. The local log is *wal.Log (SaveSnapshot: one synced
// batch); a replicated log hands it to raft (replica.Engine.Compact).
// state is only valid during the call.
type Snapshotter interface {
	SaveSnapshot(p uint32, index, keepFrom uint64, state []byte) error
}

// lead makes this node serve partition p: every entry committed before its
// leadership began has been applied (they came out of the log before the
// Lead), so its state is complete. A leadership that moved on since is not
// taken (owner.Map.Promote).
func (w *worker) lead(o plog.Output) {
	if !w.s.deps.Owners.Promote(o.Entry.Partition, o.Leader) {
		w.s.opts.Logger.Info("partition leadership moved on before it was taken", "partition", o.Entry.Partition,
			"term", o.Leader.Term)
		return
	}
	w.s.opts.Logger.Info("leading partition", "partition", o.Entry.Partition, "term", o.Leader.Term)
}

// follow answers the fetches parked on partition p NOT_LEADER: this node no
// longer leads it, so they are re-issued at the new leader (the error
// names it when known). Delivery attempts are volatile: the new leader
// delivers again what this one had delivered and was not acked.
func (w *worker) follow(o plog.Output) {
	p := o.Entry.Partition
	err := &plog.NotLeaderError{Partition: p, Leader: o.Leader}
	for k, rs := range w.waiters {
		keep := rs[:0]
		for _, r := range rs {
			if r.Partition != p {
				keep = append(keep, r)
				continue
			}
			w.s.m.parked.Add(-1)
			w.fail(r, frame.CodeNotLeader, err)
		}
		clear(rs[len(keep):])
		if len(keep) == 0 {
			delete(w.waiters, k)
		} else {
			w.waiters[k] = keep
		}
	}
	w.dropPartition(p)
	w.s.opts.Logger.Info("no longer leading partition", "partition", p, "leader", o.Leader.ID, "term", o.Leader.Term)
}

// restore replaces partition p by the snapshot state at index (the records
// it points at are in the log). A state that does not restore leaves the
// partition as it was and is logged: the replica's state is then behind
// and must not lead (its raft log still holds the truth).
func (w *worker) restore(o plog.Output) {
	p := o.Entry.Partition
	part, err := w.s.deps.NewPartition(p)
	if err == nil {
		read := func(index uint64) ([]byte, error) { return w.s.deps.WAL.Read(p, index, nil) }
		err = part.Restore(o.State, read)
	}
	if err != nil {
		w.s.opts.Logger.Error("cannot restore partition from a snapshot", "partition", p, "index", o.Entry.Index, "err", err)
		return
	}
	w.s.deps.Partitions[p] = part
	w.s.parts[p].Store(part)
	w.lastSnap[p] = o.Entry.Index
	delete(w.lastRead, p)
	w.dropPartition(p)
	w.s.opts.Logger.Info("partition restored from a snapshot", "partition", p, "index", o.Entry.Index)
}

// Lookup answers the dedupe stage from partition p's applied state (the
// window's Lookup is safe next to Apply; the partition itself is swapped
// atomically by a restore). On a follower it answers from what this node
// has applied, which is committed: a hit is a true duplicate.
func (s *Stage) Lookup(p uint32, dest []byte, session bool, producer uint64, id [16]byte) (uint64, bool) {
	return s.parts[p].Load().Lookup(dest, session, producer, id)
}

// localSnapshots is the single node's Snapshotter.
var _ Snapshotter = (*wal.Log)(nil)

// newPartitionDefault is Deps.NewPartition when none is given.
func newPartitionDefault(p uint32) (*queue.Partition, error) { return queue.New(p, queue.Options{}) }
