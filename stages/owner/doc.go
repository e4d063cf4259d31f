// Package owner answers "who serves partition p here": whether this node
// takes requests for p (it leads p), and which fanout worker applies p's
// log and serves its fetches. Router, persist and fanout ask it; nothing
// else computes a partition's worker.
//
// A Table is immutable. A Map holds the current Table behind an atomic
// pointer: readers Load it (one atomic load, no lock, no allocation) and
// may keep using the Table they loaded; a change (leadership moving, in a
// cluster) builds a new Table and Stores it. A reader that loaded the old
// Table acts on it once more at most, which each user must allow: a
// request routed just before a partition's leadership moved away fails
// later, at the partition log, with plog.ErrNotLeader.
//
// A partition's worker never changes while a node runs (it is p modulo
// the worker count): only whether the node leads it does. So no partition
// state ever moves between fanout workers, and the worker that applies a
// partition's committed entries is the one that serves its fetches.
//
// A single node leads every partition (New). A cluster member starts
// leading none (NewMap); its replicated log records each partition's
// Leader (node id, client address, term) as soon as it learns it
// (SetLeadership, leads false), and the applier Promotes the node once it
// has applied everything committed before its term: the Leader is the
// hint a NOT_LEADER answer carries, Epoch counts its changes. Table and Map
// are safe for concurrent use.
package owner
