// Package stages assembles a SwarmMQ node: it opens the log, rebuilds every
// partition's state from it, wires the fixed graph of stages with bounded
// rings, and serves the client port and the HTTP admin surface.
//
//	netio ─► decode ─► verify ─► dedupe ─► route ─► persist ─► fanout ─► ack
//	                                          │   (proposals)  (outcomes)▲
//	                                          └──── FETCH, NACK ─────────┘
//	                                          persist ◄── fanout (feedback: GroupCreate, DeadLetter)
//
// The rings are made from one description (topology in node.go); route →
// persist → fanout is the partition log seam (package plog) and persist its
// local implementation; package owner says which fanout worker serves each
// partition and whether this node leads it.
//
// Each stage lives in its own sub-package and never imports another; this
// package is the one place that knows the topology. Start opens the log,
// replays it (snapshot, then the records after it) into the queue
// partitions, starts the stages sinks first and netio last; Stop goes the
// other way: netio stops reading, each ring drains before its consumer
// stops, and the log closes last. A Node is safe for concurrent use.
//
// With Options.Cluster the node is a member of a cluster (cluster.go): the
// raft log (cluster/rlog) takes persist's place in the same topology, the
// partitions start empty and are rebuilt through the log's outputs (a
// snapshot's Restore, then the committed entries), the peer links
// (cluster/peer) start before the graph and close after it, and the router
// forwards requests for partitions led elsewhere (cluster/forward).
package stages
