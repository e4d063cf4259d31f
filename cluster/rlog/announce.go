package rlog

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages/owner"
)

// A node learns the leaders of the partitions it replicates from raft. To
// know the others' (with R < N a node replicates only some partitions),
// each leader announces itself to every peer on a RAFT frame of its own,
// told apart from raft messages by a partition number no partition has:
//
//	+------------------------+------------------+-----------+----------------------+
//	| 0xFFFFFFFF (u32 BE)    | partition u32 BE | term u64  | leader's raft id u64 |
//	+------------------------+------------------+-----------+----------------------+
//
// A leader announces a partition as soon as it serves it, and again every
// AnnounceInterval (a node that starts, or whose link was down, learns
// within it). A node that does not replicate the partition records the
// leader of the highest term it heard of; one that does ignores it (raft
// tells it better). A stale entry (the leader died) costs a forwarded
// request answered NOT_LEADER, until the next leader's announcement.

// announceMarker is the partition field of an announcement.
const announceMarker = 0xFFFFFFFF

// announceLen is an announcement's size.
const announceLen = 4 + 4 + 8 + 8

// DefaultAnnounceInterval is how often a leader announces its partitions.
const DefaultAnnounceInterval = time.Second

// Announcement says that Leader leads Partition in Term.
type Announcement struct {
	Partition    uint32
	Term, Leader uint64
}

// AppendAnnouncement appends a's RAFT payload to dst.
func AppendAnnouncement(dst []byte, a Announcement) []byte {
	dst = binary.BigEndian.AppendUint32(dst, announceMarker)
	dst = binary.BigEndian.AppendUint32(dst, a.Partition)
	dst = binary.BigEndian.AppendUint64(dst, a.Term)
	return binary.BigEndian.AppendUint64(dst, a.Leader)
}

// IsAnnouncement reports whether a RAFT payload is an announcement (else a
// raft message).
func IsAnnouncement(b []byte) bool {
	return len(b) >= 4 && binary.BigEndian.Uint32(b) == announceMarker
}

// DecodeAnnouncement parses an announcement. It never panics.
func DecodeAnnouncement(b []byte) (Announcement, error) {
	if len(b) != announceLen || !IsAnnouncement(b) {
		return Announcement{}, fmt.Errorf("%w: announcement of %d bytes", ErrBadMessage, len(b))
	}
	return Announcement{Partition: binary.BigEndian.Uint32(b[4:]), Term: binary.BigEndian.Uint64(b[8:]),
		Leader: binary.BigEndian.Uint64(b[16:])}, nil
}

// announce sends a to every peer.
func (n *Net) announce(a Announcement) {
	t := n.peers.Load()
	if t == nil {
		return
	}
	b := AppendAnnouncement(nil, a)
	for _, s := range t.Peers() {
		_ = t.Send(s.ID, frame.TypeRaft, b) // a lost one is sent again next interval
	}
}

// heard handles an announcement from peer from: only a leader announces
// itself, and only for a partition it could lead.
func (n *Net) heard(from string, b []byte) {
	a, err := DecodeAnnouncement(b)
	h := n.leaders.Load()
	if err != nil || keyOf(a.Leader) != n.keys[from] || h == nil {
		n.bad.Inc()
		return
	}
	(*h)(a)
}

// LearnLeader records an announced leader of a partition this node does
// not replicate, if its term is the highest heard of (Net.OnLeader).
func (l *Log) LearnLeader(a Announcement) {
	if _, hosted := l.parts[a.Partition]; hosted || a.Partition >= l.deps.Owners.Load().Partitions() {
		return
	}
	nd, ok := l.nodes[keyOf(a.Leader)]
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur := l.leader[a.Partition]; cur.Term > a.Term || (cur.Term == a.Term && cur.ID == nd.ID) {
		return
	}
	info := owner.Leader{ID: nd.ID, Addr: nd.Client, Term: a.Term}
	l.leader[a.Partition] = info
	l.deps.Owners.SetLeadership(a.Partition, false, info)
}

// announceLoop announces the partitions this node serves every interval
// until quit closes.
func (l *Log) announceLoop(quit <-chan struct{}) {
	t := time.NewTicker(l.opts.AnnounceInterval)
	defer t.Stop()
	for {
		if l.opts.SayIncarnation != nil {
			l.opts.SayIncarnation()
		}
		select {
		case <-quit:
			return
		case <-t.C:
		}
		if l.opts.Announce == nil {
			continue
		}
		l.mu.Lock()
		var as []Announcement
		for p, serving := range l.serving {
			if serving {
				as = append(as, Announcement{Partition: p, Term: l.leader[p].Term, Leader: l.self})
			}
		}
		l.mu.Unlock()
		for _, a := range as {
			l.opts.Announce(a)
		}
	}
}
