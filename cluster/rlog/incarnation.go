package rlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Incarnations. A node whose data directory is wiped (a lost disk, a
// replaced machine) comes back without its raft log and without the votes
// and acknowledgements it gave: under its old raft id it would break what
// raft promised on its word, and its peers' leaders, which still hold its
// old progress, would send it a commit index beyond its empty log (raft
// panics on that). So it comes back as a new incarnation, a new raft id
// (ids.go), and the leaders of its partitions replace the old id by the
// new one (cluster/replica, conf.go).
//
// The data directory keeps, as wal meta values:
//
//	cluster/incarnation      → u16 BE: this node's incarnation (cluster data format 2)
//	cluster/peer/<node id>   → u16 BE: the highest incarnation of that peer this node heard from
//
// A peer's incarnation is recorded, synced, before anything it said under
// it is acted on: its announcement (below), or any raft message from it
// (Net.HandleFrame). A node that starts on a directory without its own
// incarnation asks its peers what they recorded of it, and decides with
// Decide: one more than the highest any peer recorded, or 0 when none
// did.

// Keys of the meta values.
const (
	metaIncarnation = "cluster/incarnation"
	metaPeerPrefix  = "cluster/peer/"
)

// MetaStore keeps small named values durably: the wal.Log (Meta, SetMeta,
// a synced write of its own).
type MetaStore interface {
	Meta(name string) ([]byte, bool, error)
	SetMeta(name string, value []byte) error
}

// Incarnations is what this node knows of its own incarnation and of its
// peers'. Safe for concurrent use.
type Incarnations struct {
	store MetaStore
	self  string
	keys  map[uint64]string // node key → node id
	mu    struct {
		sync.Mutex
		own     uint16
		decided bool
		peers   map[string]uint16 // recorded
	}
}

// LoadIncarnations reads what store keeps for node self of the cluster of
// nodes.
func LoadIncarnations(store MetaStore, self string, nodes []string) (*Incarnations, error) {
	r := &Incarnations{store: store, self: self, keys: map[uint64]string{}}
	r.mu.peers = map[string]uint16{}
	for _, id := range nodes {
		r.keys[nodeKey(id)] = id
		v, ok, err := loadU16(store, metaPeerPrefix+id)
		if err != nil {
			return nil, err
		}
		if ok {
			r.mu.peers[id] = v
		}
	}
	v, ok, err := loadU16(store, metaIncarnation)
	if err != nil {
		return nil, err
	}
	r.mu.own, r.mu.decided = v, ok
	return r, nil
}

func loadU16(store MetaStore, name string) (uint16, bool, error) {
	b, ok, err := store.Meta(name)
	switch {
	case err != nil:
		return 0, false, err
	case !ok:
		return 0, false, nil
	case len(b) != 2:
		return 0, false, fmt.Errorf("swarmmq/rlog: meta value %q has %d bytes, want 2", name, len(b))
	}
	return binary.BigEndian.Uint16(b), true, nil
}

// HasIncarnation reports whether store holds this node's incarnation: a
// member's data directory of cluster data format 2.
func HasIncarnation(store MetaStore) (bool, error) {
	_, ok, err := store.Meta(metaIncarnation)
	return ok, err
}

// Self returns this node's id.
func (r *Incarnations) Self() string { return r.self }

// Own returns this node's incarnation; ok is false until it is decided.
func (r *Incarnations) Own() (inc uint16, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.own, r.mu.decided
}

// SetOwn stores this node's incarnation (synced). It is set once.
func (r *Incarnations) SetOwn(inc uint16) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.decided {
		return fmt.Errorf("swarmmq/rlog: incarnation already %d", r.mu.own)
	}
	if err := r.store.SetMeta(metaIncarnation, binary.BigEndian.AppendUint16(nil, inc)); err != nil {
		return err
	}
	r.mu.own, r.mu.decided = inc, true
	return nil
}

// Recorded returns the highest incarnation of node recorded here.
func (r *Incarnations) Recorded(node string) (inc uint16, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inc, ok = r.mu.peers[node]
	return inc, ok
}

// Record notes that node runs incarnation inc, synced, if it is the highest
// recorded; it reports whether it was (a newer incarnation).
func (r *Incarnations) Record(node string, inc uint16) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.mu.peers[node]; ok && cur >= inc {
		return false, nil
	}
	if err := r.store.SetMeta(metaPeerPrefix+node, binary.BigEndian.AppendUint16(nil, inc)); err != nil {
		return false, err
	}
	r.mu.peers[node] = inc
	return true, nil
}

// Successor is the raft engine's Hooks.Replace: the raft id of voter's
// node in the newer incarnation recorded here, or 0.
func (r *Incarnations) Successor(_ uint32, voter uint64) uint64 {
	node, ok := r.keys[keyOf(voter)]
	if !ok {
		return 0
	}
	if inc, ok := r.Recorded(node); ok && inc > IncarnationOf(voter) {
		return RaftID(node, inc)
	}
	return 0
}

// Answer is what a peer said when asked about this node.
type Answer struct {
	// Recorded is set when the peer recorded an incarnation of this node,
	// Incarnation the highest.
	Recorded    bool
	Incarnation uint16
	// HoldsState is set when the peer has an incarnation of its own: it is
	// a member of a running cluster.
	HoldsState bool
}

// ErrIncarnations marks a node that cannot take a new incarnation.
var ErrIncarnations = errors.New("swarmmq/rlog: no incarnation left")

// Decide applies the rule to the answers of the peers that answered
// (nodes: the cluster's size, this node included; all: every peer
// answered; settled: all, or a grace period passed since a majority had).
// It returns the incarnation, or ok false and what it waits for. A peer
// records a node's incarnation before it acts on anything the node said
// under it, so "no peer recorded me" means no earlier life of this node
// counted for anything. The rule:
//   - a peer recorded this node: one more than the highest recorded, once
//     settled (every peer's record counts: taking an incarnation someone
//     recorded would reuse a raft id whose votes counted);
//   - none did and all answered, or none did and none holds cluster state
//     (the cluster is being created) and a majority answered: 0, a voter
//     of the groups' first configuration;
//   - none did, some peer holds cluster state, and settled without all:
//     1, joining (safe whatever an unreachable peer recorded below 1; it
//     costs a membership change);
//   - else wait.
//
// A node never takes 0 by joining a running cluster on a majority only:
// with several nodes starting at once, those that decided first hold
// state when the others ask; had the others joined as 1, a group whose
// first voters were mostly such nodes would have no quorum to add them.
func Decide(answers map[string]Answer, nodes int, all, settled bool) (inc uint16, ok bool, why string, err error) {
	majority := len(answers)+1 > nodes/2
	var recorded, state bool
	var highest uint16
	for _, a := range answers {
		state = state || a.HoldsState
		if a.Recorded {
			recorded = true
			highest = max(highest, a.Incarnation)
		}
	}
	settled = settled || all
	switch {
	case !majority:
		return 0, false, fmt.Sprintf("waiting for a majority of the %d nodes to answer (%d of them have)", nodes, len(answers)+1), nil
	case recorded && !settled:
		return 0, false, "waiting for the other peers' records of this node", nil
	case recorded && highest == math.MaxUint16:
		return 0, false, "", fmt.Errorf("%w: a peer recorded incarnation %d", ErrIncarnations, highest)
	case recorded:
		return highest + 1, true, "", nil
	case all || !state:
		return 0, true, "", nil
	case !settled:
		return 0, false, "waiting for every peer's answer before joining the running cluster", nil
	}
	return 1, true, "", nil
}

// A node's incarnation messages travel on RAFT frames, told apart from raft
// messages and announcements by their first four bytes:
//
//	+-----------------------+---------+----------+--------------------+
//	| 0xFFFFFFFE (u32 BE)   | kind u8 | flags u8 | incarnation u16 BE |
//	+-----------------------+---------+----------+--------------------+
//
//	kind 1 (I am):   the sender runs incarnation (sent every AnnounceInterval)
//	kind 2 (ask):    what have you recorded of me? (flags, incarnation 0)
//	kind 3 (answer): flags bit 0 recorded, bit 1 holds cluster state;
//	                 incarnation the highest recorded of the asker
const (
	incMarker = 0xFFFFFFFE
	incLen    = 8

	kindIAm    = 1
	kindAsk    = 2
	kindAnswer = 3

	flagRecorded = 1
	flagState    = 2
)

// incMessage is a decoded incarnation message.
type incMessage struct {
	kind, flags byte
	inc         uint16
}

func appendIncMessage(dst []byte, m incMessage) []byte {
	dst = binary.BigEndian.AppendUint32(dst, incMarker)
	dst = append(dst, m.kind, m.flags)
	return binary.BigEndian.AppendUint16(dst, m.inc)
}

// isIncMessage reports whether a RAFT payload is an incarnation message.
func isIncMessage(b []byte) bool { return len(b) >= 4 && binary.BigEndian.Uint32(b) == incMarker }

// decodeIncMessage parses an incarnation message. It never panics.
func decodeIncMessage(b []byte) (incMessage, error) {
	if len(b) != incLen || !isIncMessage(b) {
		return incMessage{}, fmt.Errorf("%w: incarnation message of %d bytes", ErrBadMessage, len(b))
	}
	m := incMessage{kind: b[4], flags: b[5], inc: binary.BigEndian.Uint16(b[6:])}
	if m.kind < kindIAm || m.kind > kindAnswer || m.flags&^(flagRecorded|flagState) != 0 {
		return incMessage{}, fmt.Errorf("%w: incarnation message kind %d flags %#x", ErrBadMessage, m.kind, m.flags)
	}
	return m, nil
}
