package fanout

import (
	"cmp"
	"net"
	"slices"

	"github.com/swarmmq/swarmmq/queue"
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
// Each delivery is remembered with the member it went to (holders), until
// it is acknowledged, given back (NACK), terminated, dead-lettered,
// delivered again (to whichever member fetches it), or its message or its
// group's in-flight state is dropped (purge, delete, reset); reading the
// members checks every remembered delivery against the partition, so a
// message that expired meanwhile is not counted. A delivery whose ack
// timeout passed stays with its member until it is delivered again.

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
	gone      bool // forgotten: its holders entries are dropped lazily

	// Filled while reading (Live.Members).
	inFlight int
	waiting  bool
}

// groupMembers are the members of one group and the deliveries they hold.
type groupMembers struct {
	partition uint32
	byConn    map[uint64]*member
	holders   map[uint64]*member // seq in flight → the member it went to
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
		gm = &groupMembers{partition: p, byConn: map[uint64]*member{}, holders: map[uint64]*member{}}
		gs[string(group)] = gm
	}
	return gm
}

// memberOf returns r's member (made if create) and its group; nil if r's
// connection tells nothing of itself (a test's).
func (w *worker) memberOf(r *work.Request, create bool) (*groupMembers, *member) {
	var key uint64
	id, ok := r.Conn.(identity)
	switch {
	case r.Forwarded:
	case ok:
		key = id.ID()
	default:
		return nil, nil
	}
	gm := w.group(r.Partition, r.Dest, r.Group, create)
	if gm == nil {
		return nil, nil
	}
	m := gm.byConn[key]
	if m == nil && create {
		m = &member{id: key, forwarded: r.Forwarded}
		if !r.Forwarded {
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

// hold records that ds were sent to r's member.
func (w *worker) hold(r *work.Request, ds []queue.Delivery) {
	gm, m := w.memberOf(r, true)
	if m == nil {
		return
	}
	m.delivered += uint64(len(ds))
	for _, d := range ds {
		gm.holders[d.Seq] = m
	}
}

// settled forgets who holds seqs of dest's group: acknowledged, given
// back, terminated or dead-lettered.
func (w *worker) settled(dest, group []byte, seqs []uint64) {
	gm := w.group(0, dest, group, false)
	if gm == nil {
		return
	}
	for _, seq := range seqs {
		delete(gm.holders, seq)
	}
}

// dropHeld forgets every delivery held in dest's group (every group when
// group is nil): a purge, a delete or a reset ended them.
func (w *worker) dropHeld(dest, group []byte) {
	for name, gm := range w.members[string(dest)] {
		if group == nil || name == string(group) {
			clear(gm.holders)
		}
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
// been idle for MemberIdle (with no FETCH parked), and the deliveries they
// held.
func (w *worker) pruneMembers(now int64) {
	for dest, gs := range w.members {
		for name, gm := range gs {
			w.pruneGroup(waitKey{dest, name}, gm, now)
			if len(gm.byConn) == 0 && len(gm.holders) == 0 {
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
	forgot := false
	for key, m := range gm.byConn {
		closed := m.conn != nil && m.conn.Closed()
		if closed || (now-m.lastFetch > idle && !w.parkedFor(k, m)) {
			m.gone = true
			delete(gm.byConn, key)
			forgot = true
		}
	}
	if forgot {
		for seq, m := range gm.holders {
			if m.gone {
				delete(gm.holders, seq)
			}
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
	for seq, m := range gm.holders {
		if _, ok := l.p.Peek(dest, seq); !ok || m.gone {
			delete(gm.holders, seq) // dropped (expired, limits) while held
			continue
		}
		m.inFlight++
	}
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
