// Package fanout owns the partitions' state: it applies committed records
// to the queue state machines, serves FETCH and NACK, wakes long-polling
// fetches, and feeds the records only it can decide (GroupCreate,
// DeadLetter) back to persist.
//
// Workers: Options.Workers goroutines; worker i owns the partitions p with
// p % Workers == i and is the only goroutine that touches their
// queue.Partition (the dedupe windows are read concurrently by the dedupe
// stage, which queue.Window allows). Each worker drains its own ring,
// applies records in log order, and arms one timer for the earliest of:
// an in-flight deadline, a NACK delay, an age expiry, a long-poll timeout,
// the stats tick.
//
// Snapshots: a worker encodes a partition's snapshot (every SnapshotEvery
// records, while it retains few messages) and hands it to its own
// snapshot writer goroutine, which stores it with wal.SaveSnapshot; at
// most one waits, so a slow disk skips snapshots rather than stalling
// deliveries. Cold messages (not in the message cache) are read back with
// wal.Read when a fetch delivers them.
//
// Replies: MESSAGES frames go straight to the connection; publish results
// and ack confirmations go to the ack stage. Feedback to persist uses
// TryPush only (the edge closes a cycle): what does not fit is retried on
// the next turn of the loop.
//
// Stop closes the worker rings; each worker drains its ring, answers its
// parked fetches with empty MESSAGES and returns; its snapshot writer
// stores what was handed to it and returns too.
package fanout
