// Package plog is the partition log seam: the one boundary between
// sequencing (deciding what to append to a partition's log) and applying
// (running committed records through the partition's state machine).
//
//	route, fanout ──Proposal──► [ partition log ] ──Output──► fanout worker of p
//	(sequencers)     one ring     local: persist      one ring per worker
//	                              (R=1, group commit)  (owner.Table.Worker)
//	                              raft: one group per partition
//
// A Proposal asks for one record to be appended to partition p's log, and
// carries the request the entry answers on this node (its context: the
// proposer never knows the index in advance; the log assigns it when it
// appends). Every proposal comes out exactly once, on the ring of the
// fanout worker of its partition, as an Output:
//
//   - Committed: the entry (partition, index, record) is committed and is
//     to be applied; on the node that proposed it, Entry.Req is the
//     proposal's request, to be answered from the apply. Entries proposed
//     on another node (replicated to this one) come out with no request.
//   - Failed: the proposal will never commit; Err says why (a storage
//     error, wal.ErrDiskFull, ErrNotLeader), and the request is answered
//     with it. Every proposal for a partition this node does not lead
//     fails with ErrNotLeader, with a record or not.
//   - Unwritten: the proposal asked for no entry (a PUBLISH every message
//     of which was already answered, or whose client had gone): its request
//     is answered as it is.
//
// A replicated log also emits, in the same ring and in log order, Lead
// (this node leads the partition and everything committed before its term
// came out before: promote it), Follow (it no longer does) and Restore (a
// snapshot replaces the partition's state).
//
// Order: the committed entries of a partition come out in increasing index
// order, with no gap but the indexes of the log's own entries (a raft
// leader's empty first entry, which carries no record and does not come
// out), and its outputs (of every kind) in the order the partition's
// proposals went in on the node that proposed them. A log never
// blocks on its output for long: the applier drains its rings.
//
// Implementations. The persist stage (stages/persist) is the local log:
// one Pebble batch and one fsync per ring drain (group commit), committed
// once its fsync returned (R=1). A replicated log (a raft group per
// partition) takes the same ring of proposals and feeds the same output
// rings; fanout does not know which one runs. An implementation is built
// with Deps and is a graph.Stage: Stop drains the proposals already taken
// and hands every output on before it returns. plogtest checks an
// implementation against this contract.
//
// Proposal and Output are values handed over rings: whoever holds one owns
// the request in it (see package work).
package plog
