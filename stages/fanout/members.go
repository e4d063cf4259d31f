package fanout

import (
	"cmp"
	"net"
	"slices"

	"github.com/swarmmq/swarmmq/stages/work"
)

// Group members: the consumers fetching for a group on this node (the
// partition's leader), for the admin API. A member is one connection
// fetching for one group; it joins with its first FETCH and is forgotten
// when its connection closes or when it has not fetched for
// Options.MemberIdle while no FETCH of it waits (a long poll). Fetches
// forwarded by other nodes (docs/cluster.md, "Forwarding") carry nothing
// of their client's connection (the envelope has its producer session and
// max frame only), so they are one member of the group, key 0.
//
// Each delivery is handed out with its member's key (memberKey) as its
// holder (queue.Partition.DeliverTo), which the partition keeps with the
// in-flight delivery until it is acknowledged, given back, terminated,
// dead-lettered, delivered again (to whichever member fetches it) or
// dropped; reading the members counts them (queue.Partition.Holders). A
// delivery whose ack timeout passed stays with its member until it is
// delivered again; the deliveries of a forgotten member count for nobody.

// identity is what a client connection tells of itself (netio.Conn).
type identity interface {
	ID() uint64
	RemoteAddr() net.Addr
	ClientID() string
}

// member is one connection fetching for one group.
type member struct {
	conn      work.Conn // nil: fetches forwarded by other nodes
	id        uint64    // the connection's id; 0 for forwarded fetches
	remote    string
	client    string
	forwarded bool
	lastFetch int64 // unix ns
	delivered uint64

	// Filled while reading (Live.Members).
	inFlight int
	waiting  bool
}

// groupMembers are the members of one group, by key (memberKey).
type groupMembers struct {
	partition uint32
	byConn    map[uint64]*member
}

// Member is one consumer fetching for a group, as Live.Members reports
// it. A plain value.
type Member struct {
	// Conn is the connection's id on this node (the id netio logs); 0
	// for the fetches other nodes forwarded (Forwarded).
	Conn      uint64
	Remote    string // the client's address ("" when forwarded)
	ClientID  string // from its HELLO ("" if it gave none, or forwarded)
	Forwarded bool
	// LastFetch is when its last FETCH arrived (unix ns).
	LastFetch int64
	// Delivered counts the messages sent to it since it joined; InFlight
	// those of its deliveries it has not settled (see above).
	Delivered uint64
	InFlight  int
	// Waiting says that a FETCH of it is parked: a long poll waiting for
	// messages (or for its group to be created).
	Waiting bool
}

// group returns the members of dest's group, made if create.
func (w *worker) group(p uint32, dest, group []byte, create bool) *groupMembers {
	gs := w.members[string(dest)]
	if gs == nil {
		if !create {
			return nil
		}
		gs = map[string]*groupMembers{}
		w.members[string(dest)] = gs
	}
	gm := gs[string(group)]
	if gm == nil && create {
		gm = &groupMembers{partition: p, byConn: map[uint64]*member{}}
		gs[string(group)] = gm
	}
	return gm
}

// noMember is the key of a connection that tells nothing of itself (a
// test's): it is no member.
const noMember = ^uint64(0)

// memberKey returns the key of r's member: its connection's id, 0 for a
// forwarded fetch, noMember for a connection that tells nothing of itself.
func memberKey(r *work.Request) uint64 {
	if r.Forwarded {
		return 0
	}
	if id, ok := r.Conn.(identity); ok {
		return id.ID()
	}
	return noMember
}

// memberOf returns r's member (made if create) and its group; nil if r's
// connection tells nothing of itself (a test's).
func (w *worker) memberOf(r *work.Request, create bool) (*groupMembers, *member) {
	key := memberKey(r)
	if key == noMember {
		return nil, nil
	}
	gm := w.group(r.Partition, r.Dest, r.Group, create)
	if gm == nil {
		return nil, nil
	}
	m := gm.byConn[key]
	if m == nil && create {
		m = &member{id: key, forwarded: r.Forwarded}
		if id, ok := r.Conn.(identity); ok && !r.Forwarded {
			m.conn, m.client = r.Conn, id.ClientID()
			if a := id.RemoteAddr(); a != nil {
				m.remote = a.String()
			}
		}
		gm.byConn[key] = m
	}
	return gm, m
}

// noteFetch records that a FETCH of r's connection arrived at now.
func (w *worker) noteFetch(r *work.Request, now int64) {
	if r.Conn == nil || (!r.Forwarded && r.Conn.Closed()) {
		return
	}
	if _, m := w.memberOf(r, true); m != nil {
		m.lastFetch = max(m.lastFetch, now)
	}
}

// noteDelivered records that n messages were sent to r's member.
func (w *worker) noteDelivered(r *work.Request, n int) {
	if _, m := w.memberOf(r, true); m != nil {
		m.delivered += uint64(n)
	}
}

// dropPartition forgets the members of partition p's groups: this node no
// longer serves it, or its state was replaced.
func (w *worker) dropPartition(p uint32) {
	for dest, gs := range w.members {
		for name, gm := range gs {
			if gm.partition == p {
				delete(gs, name)
			}
		}
		if len(gs) == 0 {
			delete(w.members, dest)
		}
	}
}

// pruneMembers forgets the members whose connection closed or that have
// been idle for MemberIdle (with no FETCH parked).
func (w *worker) pruneMembers(now int64) {
	for dest, gs := range w.members {
		for name, gm := range gs {
			w.pruneGroup(waitKey{dest, name}, gm, now)
			if len(gm.byConn) == 0 {
				delete(gs, name)
			}
		}
		if len(gs) == 0 {
			delete(w.members, dest)
		}
	}
}

// pruneGroup is pruneMembers for the group k.
func (w *worker) pruneGroup(k waitKey, gm *groupMembers, now int64) {
	idle := int64(w.s.opts.MemberIdle)
	for key, m := range gm.byConn {
		closed := m.conn != nil && m.conn.Closed()
		if closed || (now-m.lastFetch > idle && !w.parkedFor(k, m)) {
			delete(gm.byConn, key)
		}
	}
}

// parkedFor reports whether a FETCH of m is parked on k.
func (w *worker) parkedFor(k waitKey, m *member) bool {
	for _, r := range w.waiters[k] {
		if _, rm := w.memberOf(r, false); rm == m {
			return true
		}
	}
	return false
}

// Members returns the consumers fetching for group of dest, sorted by
// connection id (the forwarded fetches first), with the deliveries each
// holds now; none if nothing fetches for it here.
func (l Live) Members(dest, group []byte) []Member {
	w := l.w
	gm := w.group(0, dest, group, false)
	if gm == nil {
		return nil
	}
	k := waitKey{string(dest), string(group)}
	w.pruneGroup(k, gm, l.now)
	for _, m := range gm.byConn {
		m.inFlight, m.waiting = 0, false
	}
	l.p.Holders(dest, group, func(key uint64) {
		if m := gm.byConn[key]; m != nil {
			m.inFlight++
		}
	})
	for _, r := range w.waiters[k] {
		if _, m := w.memberOf(r, false); m != nil {
			m.waiting = true
		}
	}
	out := make([]Member, 0, len(gm.byConn))
	for _, m := range gm.byConn {
		out = append(out, Member{Conn: m.id, Remote: m.remote, ClientID: m.client, Forwarded: m.forwarded,
			LastFetch: m.lastFetch, Delivered: m.delivered, InFlight: m.inFlight, Waiting: m.waiting})
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.Conn, b.Conn) })
	return out
}
