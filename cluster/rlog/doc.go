// Package rlog is the raft implementation of the partition log (the seam
// of package stages/plog): each partition a raft group of its replicas,
// driven by one replica.Engine, the raft log being the partition log.
//
//	route, fanout ──Proposal──► rlog ──Engine.Propose──► raft ──Apply/Lost──► rlog ──Output──► fanout worker of p
//	                            (drain goroutine)          (engine loop: one fsync per iteration)
//
// # Proposals
//
// One goroutine (pprof label "rlog") drains the proposal ring. A proposal
// for a partition this node does not lead (owner.Table.Leads) fails with a
// *plog.NotLeaderError naming the leader this node knows; one with no
// record comes out Unwritten; any other has its record encoded
// (queue.AppendRecord) and handed to Engine.Propose with its slot as the
// ctx. The engine's loop then calls back: Apply with the committed entries
// (this node's carry the slot, so they come out with the proposal's record
// and request; the others' are decoded and come out with no request), or
// Lost (a *plog.NotLeaderError: the client retries at the leader with the
// same message ids). Outputs of one partition leave in the order of its
// proposals (the FIFO of fifo.go says why raft alone does not give that).
//
// # Leadership, restores
//
// The engine's LeaderChange hook records the partition's leader in the
// owner table at once, with this node not leading (owner.Map.SetLeadership):
// the router stops sending requests here the moment leadership is lost.
// When this node leads and has applied an entry of its own term (replica's
// Serving) a Lead output follows every entry applied before it, and
// fanout promotes the node (owner.Map.Promote) when it reaches it: the
// node serves only with a complete state. Losing a served leadership comes
// out as Follow. A snapshot (at start, or sent by the leader) comes out as
// Restore, which fanout applies by rebuilding the partition from it.
//
// # Incarnations and the transport
//
// A raft id is a node's 48-bit key and its incarnation (ids.go); a node
// that starts on an empty data directory takes a new incarnation, decided
// by asking its peers (incarnation.go, Net.Decide), and the leaders of its
// partitions replace its old raft id by the new one (Hooks.Replace of
// cluster/replica). Net records each peer's incarnation before acting on
// what it sent, drops raft messages to or from an earlier incarnation, and
// sends RAFT payloads above ChunkSize (snapshots) in chunks from goroutines
// of its own (chunk.go, pprof label stage=rlog-snapshot-send), which
// Net.Close stops and waits for.
//
// # Concurrency and stopping
//
// A Log is safe for concurrent use. Its mutex guards the FIFOs and is held
// while their outputs are pushed (plog.Deliver may wait for room), so
// outputs leave in order whichever goroutine decided them; the engine's
// loop takes it in its callbacks, never while holding its own input lock.
// Stop closes the ring, waits for the drain, then (at most
// Options.StopWait, and its ctx) for every proposal taken to have its
// outcome, then stops the engine,
// which fails what is still pending with plog.ErrClosed. Before a clean
// stop the node calls HandOff first, while its stages still run: the
// partitions it leads are transferred to followers (at most
// DefaultHandOffWait), so requests arriving meanwhile are forwarded to
// the new leaders. The caller opens and closes the wal.Log and the
// transport.
package rlog
