package rlog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// RaftID maps a node id of the configuration to the node's raft id: the
// first 8 bytes of SHA-256(id), big-endian, or 1 if those are all zero
// (raft reserves 0 for "none"). Every node computes the same ids from the
// same list, with nothing to store or hand out. Two ids of one cluster
// could map to the same raft id (about 1 in 2^64 for a pair): CheckIDs
// refuses such a list.
func RaftID(id string) uint64 {
	sum := sha256.Sum256([]byte(id))
	if v := binary.BigEndian.Uint64(sum[:8]); v != 0 {
		return v
	}
	return 1
}

// CheckIDs reports node ids listed twice and pairs of ids with the same
// raft id, every problem at once.
func CheckIDs(ids []string) error {
	var errs []error
	seen := map[uint64]string{}
	for _, id := range ids {
		r := RaftID(id)
		switch other, dup := seen[r]; {
		case dup && other == id:
			errs = append(errs, fmt.Errorf("swarmmq/rlog: node id %q listed twice", id))
		case dup:
			errs = append(errs, fmt.Errorf("swarmmq/rlog: node ids %q and %q have the same raft id %016x: rename one", other, id, r))
		default:
			seen[r] = id
		}
	}
	return errors.Join(errs...)
}
