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
package stages
