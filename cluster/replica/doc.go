// Package replica is the replication engine of a node: one raft group
// (go.etcd.io/raft/v3 RawNode) per partition the node replicates, all driven
// by one loop, with the raft log kept in the node's wal.Log as the
// partition log itself.
//
// # The loop
//
// One goroutine (Start; pprof label swarmmq=raft-loop) repeats: take the
// received messages, proposals and compaction requests queued by other
// goroutines; step the messages into their groups; propose; tick every
// group on each tick of Options.TickInterval; then, for every group with a
// Ready, write its snapshot, entries and HardState into ONE wal.RaftBatch,
// committed with one fsync (none if no Ready needs one); only then send all
// messages (Transport.Send), apply the committed entries
// (StateMachine.Apply, in order, per partition), and Advance. Nothing is
// sent before the write that makes it true is durable. A group does not
// tick until it has applied the commit index it was opened with (a
// restarted replica does not campaign with its log unapplied).
//
// A second goroutine (pprof label swarmmq=raft-snapshots) builds the
// snapshot payloads a leader sends lagging followers (snapbuild.go): raft
// asks for one on the loop, the loop hands the Pebble reads to the builder
// and answers raft.ErrSnapshotTemporarilyUnavailable until the payload is
// built, so a large snapshot never holds up the other groups. Stop signals
// both goroutines, waits for them and fails the pending proposals.
//
// HandOff, before a clean stop, transfers the leadership of every group
// this node leads to a caught-up follower (handoff.go).
//
// # Proposals
//
// Propose fails at once with *NotLeaderError when this node does not lead
// the partition; proposal forwarding is off. An accepted proposal records
// the term it was made in; the Ready that carries its entry gives it its
// index. Its outcome comes once: its committed entry reaches Apply with the
// proposer's ctx (same index, same term), or StateMachine.Lost is called
// with ErrLost (its entry was replaced by another leader's), ErrDropped,
// ErrUnknown (a snapshot jumped over it, or this node stopped leading
// before its entry committed: it may still be committed) or ErrStopped.
//
// # Storage
//
// The entry at (partition, index) is the wal's 'L' key with the record as
// its value, readable by wal.Read and wal.Replay; terms are kept as runs
// ('T' keys, one per leader change), raft's HardState, ConfState and first
// index in an 'R' key (wal/raft.go). Compact stores the state machine's
// snapshot ('S', as wal.SaveSnapshot) and trims below its KeepFrom; a raft
// snapshot sent to a follower carries that state and the records from
// KeepFrom to its index (snapshot.go), which the follower writes at the
// same indexes.
//
// # Membership
//
// Every replica starts a group from the same voters (Group.Peers); a
// node's later incarnation (a new raft id after its data directory was
// wiped) starts from them too, as a non-voter. A message addressed to
// another raft id than this node's is dropped (Stats.Stale). The leader
// replaces a voter that Hooks.Replace names a successor for in one
// ConfChangeV2 (joint consensus, left automatically); committed conf
// changes are applied with RawNode.ApplyConfChange, and the raft state
// keeps the configuration of the snapshot's index (conf.go says why).
//
// # Concurrency
//
// An Engine is safe for concurrent use. The raft groups, their storage and
// the state machine calls belong to the loop; other goroutines only queue
// input (under Engine.in) and read each group's Leadership (an atomic
// pointer).
package replica
