package placement

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNoNodes is returned when a placement is asked of an empty node list.
var ErrNoNodes = errors.New("swarmmq/placement: no nodes")

// Weight returns the rendezvous weight of node for partition p.
func Weight(p uint32, node string) uint64 {
	h := sha256.New()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], p)
	_, _ = h.Write(b[:])
	_, _ = h.Write([]byte(node))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// Replicas returns the r nodes of highest weight for partition p, highest
// first; r is capped by the number of nodes. nodes is only read. Duplicate
// or empty ids are an error, as is an empty list or r < 1.
func Replicas(p uint32, nodes []string, r int) ([]string, error) {
	if err := check(nodes, r); err != nil {
		return nil, err
	}
	return replicas(p, nodes, r), nil
}

func replicas(p uint32, nodes []string, r int) []string {
	type weighted struct {
		w  uint64
		id string
	}
	ws := make([]weighted, len(nodes))
	for i, n := range nodes {
		ws[i] = weighted{Weight(p, n), n}
	}
	slices.SortFunc(ws, func(a, b weighted) int {
		if a.w != b.w {
			if a.w > b.w {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]string, min(r, len(ws)))
	for i := range out {
		out[i] = ws[i].id
	}
	return out
}

// Table returns the replicas of every partition in [0, partitions): Table[p]
// is Replicas(p, nodes, r).
func Table(partitions uint32, nodes []string, r int) ([][]string, error) {
	if err := check(nodes, r); err != nil {
		return nil, err
	}
	t := make([][]string, partitions)
	for p := range partitions {
		t[p] = replicas(p, nodes, r)
	}
	return t, nil
}

// Hosted returns the partitions in [0, partitions) that node holds a replica
// of, in increasing order.
func Hosted(partitions uint32, nodes []string, r int, node string) ([]uint32, error) {
	t, err := Table(partitions, nodes, r)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for p, rs := range t {
		if slices.Contains(rs, node) {
			out = append(out, uint32(p))
		}
	}
	return out, nil
}

// check lists every problem of a node list and replication factor.
func check(nodes []string, r int) error {
	var errs []error
	if len(nodes) == 0 {
		errs = append(errs, ErrNoNodes)
	}
	if r < 1 {
		errs = append(errs, fmt.Errorf("swarmmq/placement: replication factor %d, want at least 1", r))
	}
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		switch {
		case n == "":
			errs = append(errs, errors.New("swarmmq/placement: empty node id"))
		case seen[n]:
			errs = append(errs, fmt.Errorf("swarmmq/placement: duplicate node id %q", n))
		}
		seen[n] = true
	}
	return errors.Join(errs...)
}
