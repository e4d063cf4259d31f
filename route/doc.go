// Package route maps a destination to its partition.
//
// It is a pure library: no goroutines, no I/O. The mapping is fixed for the
// life of a cluster:
//
//	partition = uint64(sha256(name)[0:8], big-endian) % partitions
//
// where name is the destination with every trailing ".dlq" removed, so that a
// dead-letter destination lives in its parent's partition and can be filled
// atomically by the parent's state machine.
//
// Cache memoises the mapping (SHA-256 of a short name costs ~80 ns); it is
// safe for concurrent use and bounded in size. Replica sets (rendezvous
// hashing over node ids) arrive with the cluster.
package route
