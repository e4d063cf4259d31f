// Package placement decides which nodes hold each partition: rendezvous
// (highest random weight) hashing of (partition, node id).
//
// Every node of a cluster computes the same replica sets from the same node
// list, with no coordination: the weight of a node for a partition is the
// first 8 bytes, big-endian, of
//
//	SHA-256( partition u32 big-endian | node id bytes )
//
// and a partition's replicas are the R nodes of highest weight (ties, which
// need a SHA-256 collision on 64 bits, go to the smaller id). The order of
// the node list does not matter. When a node joins, it takes a partition's
// replica slot only where its weight enters the top R, so about R/N of the
// slots move, all to the new node; when a node leaves, only the slots it
// held move. Replicas returns the set in weight order: the first is the
// partition's preferred leader, which spreads leadership evenly.
//
// The package is pure: no goroutines, no I/O; every function is safe for
// concurrent use.
package placement
