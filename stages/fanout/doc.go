// Package fanout owns the partitions' state: it applies the entries the
// partition log (package plog) committed to the queue state machines and
// answers their requests (or, for proposals the log failed, answers them
// with the error), serves FETCH and NACK, wakes long-polling fetches, and
// proposes the records only it can decide (GroupCreate, DeadLetter) to the
// log. Partition state changes only by applying committed entries.
//
// Workers: Options.Workers goroutines; worker i owns the partitions the
// owner table gives it (owner.Table.Worker) and is the only goroutine
// that touches their queue.Partition (the dedupe windows are read
// concurrently by the dedupe stage, which queue.Window allows). Each
// worker drains its own two rings (the log's outcomes, and FETCH/NACK from
// route), applies entries in log order, and arms one timer for the earliest of:
// an in-flight deadline, a NACK delay, an age expiry, a long-poll timeout,
// the stats tick. Other goroutines read partitions only through
// Stage.Inspect (the node's admin API): a query the owning worker runs
// between two turns of its loop, never concurrently with it.
//
// Live figures for the admin API (Stage.InspectLive): each worker counts
// the messages its partitions stored for PUBLISHes this node proposed (as
// the leader), per destination, into a ring of per-second slots read as
// rates over 10 s and 1 min (rate.go, publish.go), and remembers the
// connections fetching for each group (members.go); which of them holds a
// delivery is kept by the partition with the delivery itself
// (queue.Partition.DeliverTo). Both are the worker's own state, touched
// only on its goroutine: a plain addition per applied record, a map
// look-up per FETCH, no lock or atomic.
//
// Snapshots: a worker encodes a partition's snapshot (every SnapshotEvery
// records, while it retains few messages) and hands it to its own
// snapshot writer goroutine, which stores it through Deps.Snapshots
// (wal.SaveSnapshot on a single node; the raft engine's Compact in a
// cluster, which also ships it to lagging replicas); at
// most one waits, so a slow disk skips snapshots rather than stalling
// deliveries. Cold messages (not in the message cache) are read back with
// wal.Read when a fetch delivers them.
//
// Leadership (a replicated log): a Lead output makes the node serve the
// partition (owner.Map.Promote) when the worker reaches it, so only after
// every entry committed before the leader's term is applied; a Follow
// answers the fetches parked on the partition NOT_LEADER; a Restore
// rebuilds the partition from a snapshot (a new queue.Partition, swapped
// for the dedupe stage's reads through an atomic pointer: Stage.Lookup).
// Only the leader proposes dead letters; followers apply every committed
// entry, with no request, so they are ready to lead.
//
// Replies: MESSAGES frames go straight to the connection; publish results
// and ack confirmations go to the ack stage. A FETCH whose connection is
// backlogged (netio.Conn.Backlogged: its client leaves its replies unread)
// is held back and offered again every 25ms, keeping its credit, instead
// of having its messages read, encoded and dropped with the connection;
// swarmmq_fanout_backlogged_fetches counts those held. Feedback to persist uses
// TryPush only (the edge closes a cycle): what does not fit is retried on
// the next turn of the loop.
//
// Stop closes the worker rings; each worker drains its rings, answers its
// parked fetches with empty MESSAGES and returns; its snapshot writer
// stores what was handed to it and returns too.
package fanout
