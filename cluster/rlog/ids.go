package rlog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// A raft id names a node and its incarnation:
//
//	+---------------------------------------------+------------------------+
//	| node key: SHA-256(node id)[:6], 48 bits      | incarnation u16        |
//	+---------------------------------------------+------------------------+
//
// Every node computes the same key from the same node id, with nothing to
// store or hand out, and maps any raft id back to its node by the key. The
// incarnation is kept in the node's data directory (incarnation.go): 0 for
// the nodes that created the cluster, one more each time the node starts
// again on an empty data directory, so that a replica that forgot its log
// and its votes never speaks under the raft id of the one that had them.

// nodeKey returns the node key of a node id: the first 6 bytes of
// SHA-256(id), big-endian, or 1 if those are all zero (raft reserves the
// id 0 for "none").
func nodeKey(id string) uint64 {
	sum := sha256.Sum256([]byte(id))
	var b [8]byte
	copy(b[2:], sum[:6])
	if v := binary.BigEndian.Uint64(b[:]); v != 0 {
		return v
	}
	return 1
}

// RaftID returns the raft id of node id in incarnation inc. Two ids of one
// cluster could have the same node key (about 1 in 2^48 for a pair):
// CheckIDs refuses such a list.
func RaftID(id string, inc uint16) uint64 { return nodeKey(id)<<16 | uint64(inc) }

// keyOf returns the node key of a raft id.
func keyOf(raftID uint64) uint64 { return raftID >> 16 }

// IncarnationOf returns the incarnation a raft id names.
func IncarnationOf(raftID uint64) uint16 { return uint16(raftID) }

// CheckIDs reports node ids listed twice and pairs of ids with the same
// node key, every problem at once.
func CheckIDs(ids []string) error {
	var errs []error
	seen := map[uint64]string{}
	for _, id := range ids {
		r := nodeKey(id)
		switch other, dup := seen[r]; {
		case dup && other == id:
			errs = append(errs, fmt.Errorf("swarmmq/rlog: node id %q listed twice", id))
		case dup:
			errs = append(errs, fmt.Errorf("swarmmq/rlog: node ids %q and %q have the same raft node key %012x: rename one", other, id, r))
		default:
			seen[r] = id
		}
	}
	return errors.Join(errs...)
}
