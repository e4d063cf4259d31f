// Package graph is the runtime skeleton every SwarmMQ stage runs on: bounded
// rings between stages, the Stage lifecycle, a goroutine group, and the node
// topology held as data.
//
// # Where it sits
//
// A node is a fixed graph of stages joined by rings:
//
//	netio ─► decode ─► verify ─► dedupe ─► route ─► persist ─► fanout ─► ack
//	 (gnet)   Ring      Ring      Ring      Ring      Ring       Ring
//
// A producer stage TryPushes (or Pushes) into the [Ring] of its outgoing edge;
// the consumer stage pops batches with [Ring.PopBatch] and sleeps on
// [Ring.C] when the ring is empty. A full ring pushes back: TryPush reports
// false, and [Ring.SpaceC] tells the producer when a pop has made room again.
// Nothing grows without bound.
//
// # Goroutines
//
// The package owns no goroutines of its own. [Group] is the one helper
// through which stages start theirs: each goroutine carries a pprof label
// stage=<name>, the group waits for all of them and keeps the first error.
//
// # Lifecycle
//
// [Topology] holds stages, rings and edges as data, and the rings are made
// from it: [Topology.AddRing] describes a ring (its consumer, its lanes, one
// per worker of a sharded stage, and each lane's capacity),
// [Topology.AddEdge] names a stage that pushes into it, and [MakeRings]
// makes the rings once and hands the same ones to every stage that shares
// them. [Topology.Validate] lists every problem at once. [Topology.Start]
// starts stages sinks first (reverse topological order over the
// non-feedback edges), so every consumer runs before its producer;
// [Topology.Stop] stops them sources first, so each ring can drain into a
// consumer that is still running. Each real ring has the gauges
// swarmmq_ring_depth{ring="persist"} and swarmmq_ring_capacity{ring="persist"}
// (with lane="i" for rings of several lanes).
//
// # Concurrency
//
// Ring and Group are safe for concurrent use. A Topology is built (AddRing,
// AddEdge, MakeRings, AddStage) by one goroutine; after that, Validate, Start, Stop
// and Metrics are safe for concurrent use.
//
// # Ring layout
//
// A ring is a slice used circularly under one mutex:
//
//	buf: [ . . x x x x . . ]   head = index of the oldest item
//	           ^head   ^head+n
//
// PopBatch copies up to max items out in at most two runs and zeroes the
// popped slots, so the ring holds no references to items it gave away.
package graph
