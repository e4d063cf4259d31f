package client

import (
	"log/slog"
	"math"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Leader discovery: how the Client notices that the node it sends a
// partition's requests to has stopped answering, and whom it asks
// instead.
//
// A node answers PING in its network loop, without its stages or its
// disk, so a live node's PONG comes back within milliseconds even while
// a PUBLISH waits for its quorum's fsync or a FETCH long-polls. A link
// with requests written and nothing read for probeAfter (longPollProbe
// when the only ones are long-polling fetches, which are silent by
// design) therefore gets one PING; when that PING is not answered within
// stallAfter the node is silent (paused, or cut off from this client).
// A node can also answer PING and nothing else: an isolated leader, cut
// off from its peers but not from its clients, commits nothing until it
// steps down. So a request that expects a prompt answer (anything but a
// long-polling FETCH) still unanswered after overdueAfter makes its node
// suspect too. A suspect node makes the table stale. Nothing is dropped
// on that suspicion alone: the Client asks another node, and only a table
// naming a new leader for the suspect link's requests ends that link
// (dropSilentLocked). A false alarm (a node slowed down by its machine)
// thus costs a METADATA to another node.
//
// The election that follows a leader's failure takes 300–550 ms (the raft
// election timeout of docs/cluster.md), so a suspect leader is suspected
// at about the time its successor is known. While the answers still name
// the suspect node, the Client asks again every maxRefreshWait for
// suspectBurst (an election's worth), then at doubling intervals up to
// maxSuspectWait (a node that is only slow is not asked about many times
// a second).
//
// A node that just refused a request (NOT_LEADER), lost its connection or
// went silent is doubted for doubtFor: METADATA goes to another node
// while there is one. A table a silent or overdue node sends does not make
// it the leader of a partition the current table gives to another node (a
// leader paused or isolated may not know yet that it was replaced); a node
// that refused a request may have won the election since, and is believed. When a METADATA
// answer is late the Client asks a second node after askHedge, and a
// third, rather than wait DialTimeout for the first.
const (
	// probeAfter is how long a link with requests outstanding may stay
	// quiet before it is sent a PING.
	probeAfter = 200 * time.Millisecond
	// longPollProbe replaces probeAfter when only long-polling fetches
	// are outstanding.
	longPollProbe = time.Second
	// stallAfter is how long a probe may go unanswered before its node is
	// silent.
	stallAfter = 300 * time.Millisecond
	// overdueAfter is how long a request that expects a prompt answer may
	// stay unanswered before its node is suspect.
	overdueAfter = 400 * time.Millisecond
	// suspectBurst is how long after a node became suspect the Client asks
	// about it every maxRefreshWait, before it backs off.
	suspectBurst = time.Second
	// maxSuspectWait caps the pause between two METADATA requests about
	// one suspect node.
	maxSuspectWait = 2 * time.Second
	// watchInterval is how often the router checks the links for quiet.
	watchInterval = 50 * time.Millisecond
	// doubtFor is how long a node that refused, lost or ignored a request
	// is not asked for METADATA while another node can be.
	doubtFor = 2 * time.Second
	// askHedge is how long a METADATA request may go unanswered before
	// another node is asked as well.
	askHedge = 250 * time.Millisecond
	// maxAsks bounds the METADATA requests out at once.
	maxAsks = 3
)

// watch probes the links that have been quiet with requests outstanding
// (one PING each, until something is read), and makes the table stale
// when a link's node is suspect: its probe went unanswered for
// stallAfter, or its oldest prompt request is overdue.
func (c *Client) watch() {
	now := c.now()
	var probe []*link
	stale := false
	c.mu.Lock()
	oldest := c.oldestPromptLocked()
	for _, l := range c.mu.links {
		cn := l.conn
		if cn == nil || cn.isDead() || l.wire == 0 {
			l.probedAt, l.oldest, l.suspected = 0, 0, false
			continue
		}
		if c.probeLocked(l, oldest[l] != 0, now) {
			probe = append(probe, l)
		}
		stale = c.suspectLocked(l, oldest[l], now) || stale
	}
	if stale && !c.mu.route.stale {
		c.mu.route.stale = true
		defer c.kick()
	}
	c.mu.Unlock()
	for _, l := range probe {
		c.control(l, frame.AppendPing(nil, c.nextCorr.Add(1)))
	}
}

// probeLocked reports whether l, which has requests written, is due a
// PING: quiet for probeAfter (longPollProbe when none of them is prompt)
// with no probe unanswered.
func (c *Client) probeLocked(l *link, prompt bool, now time.Time) bool {
	ns := now.UnixNano()
	last := l.conn.lastRead.Load()
	if l.probedAt != 0 && last >= l.probedAt {
		l.probedAt = 0 // answered
	}
	if l.probedAt != 0 {
		return false
	}
	quiet := time.Duration(ns - last)
	if quiet >= probeAfter && (quiet >= longPollProbe || prompt) {
		l.probedAt = ns
		return true
	}
	return false
}

// suspectLocked updates whether l's node is suspect (silent, or its oldest
// prompt request, oldest, overdue) and reports whether it is time to ask
// another node about it.
func (c *Client) suspectLocked(l *link, oldest uint64, now time.Time) bool {
	ns := now.UnixNano()
	if oldest != l.oldest {
		l.oldest, l.oldestAt, l.askWait = oldest, ns, 0
	}
	overdue := oldest != 0 && ns-l.oldestAt >= int64(overdueAfter)
	if !overdue && !c.silentLocked(l, now) {
		l.suspected, l.askWait = false, 0
		return false
	}
	if !l.suspected {
		l.suspected, l.suspectedAt = true, ns
		// A node that only answers late is common on a loaded machine:
		// that is logged at Debug, a node that ignores PING at Info.
		level := slog.LevelInfo
		if overdue && !c.silentLocked(l, now) {
			level = slog.LevelDebug
		}
		c.log.Log(c.ctx, level, "swarmmq client: node silent or slow, asking another", "addr", l.addr, "overdue", overdue)
		c.doubtLocked(l.addr, true)
	}
	if ns < l.askAt {
		return false
	}
	if time.Duration(ns-l.suspectedAt) < suspectBurst {
		l.askWait = maxRefreshWait
	} else {
		l.askWait = min(max(2*l.askWait, maxRefreshWait), maxSuspectWait)
	}
	l.askAt = ns + int64(l.askWait)
	return true
}

// oldestPromptLocked returns, per link, the correlation id of the oldest
// request written on it that expects a prompt answer (anything but a
// long-polling FETCH, and not METADATA, which has its own timeout).
func (c *Client) oldestPromptLocked() map[*link]uint64 {
	out := map[*link]uint64{}
	for _, cl := range c.mu.pending {
		if cl.l == nil || cl.state != stateWritten || cl.free || longPoll(cl.buf) {
			continue
		}
		if o, ok := out[cl.l]; !ok || cl.corr < o {
			out[cl.l] = cl.corr
		}
	}
	return out
}

// silentLocked reports whether l's node has not answered the PING watch
// sent it for stallAfter.
func (c *Client) silentLocked(l *link, now time.Time) bool {
	cn := l.conn
	return cn != nil && l.probedAt != 0 && cn.lastRead.Load() < l.probedAt &&
		now.UnixNano()-l.probedAt >= int64(stallAfter)
}

// longPoll reports whether the request frame buf is a FETCH with a wait.
func longPoll(buf []byte) bool {
	f, n, err := frame.Decode(buf, math.MaxInt32)
	if err != nil || n == 0 || f.Type != frame.TypeFetch {
		return false
	}
	q, err := frame.DecodeFetchFlags(f.Body, f.Flags)
	return err == nil && q.WaitMS > 0
}

// doubtLocked keeps addr from being asked for METADATA for doubtFor;
// suspect (it went silent or let a request go overdue: it may be a leader
// that has not learnt it was replaced) also keeps its claims to lead from
// overriding the table (trustLocked) for as long.
func (c *Client) doubtLocked(addr string, suspect bool) {
	r := &c.mu.route
	if r.doubt == nil {
		r.doubt, r.suspects = map[string]time.Time{}, map[string]time.Time{}
	}
	until := c.now().Add(doubtFor)
	r.doubt[addr] = until
	if suspect {
		r.suspects[addr] = until
	}
}

// doubtedLocked reports whether addr is doubted now.
func (c *Client) doubtedLocked(addr string, now time.Time) bool {
	until, ok := c.mu.route.doubt[addr]
	if ok && !now.Before(until) {
		delete(c.mu.route.doubt, addr)
		return false
	}
	return ok
}

// trustLocked returns t with the claims a suspect node makes for itself
// taken out: a partition t's sender says it leads, while it is suspect and
// the current table names another leader, keeps the current leader. A
// node that only refused a request (NOT_LEADER) or lost its connection is
// believed: a follower that refused may have won the election since.
func (c *Client) trustLocked(t table) table {
	cur := &c.mu.table
	if t.from == "" || t.single != "" || len(cur.addrs) != len(t.addrs) {
		return t
	}
	if until, ok := c.mu.route.suspects[t.from]; !ok || !c.now().Before(until) {
		delete(c.mu.route.suspects, t.from)
		return t
	}
	for p, a := range t.addrs {
		if a == t.from && cur.addrs[p] != "" && cur.addrs[p] != a {
			t.addrs[p] = cur.addrs[p]
		}
	}
	return t
}

// askTargetLocked picks whom to ask for a table, in this order: a live
// link neither asked already, suspect nor doubted (the one last connected
// first); a node to dial that is not doubted; a live link not asked
// already nor suspect (one that refused a request: it may have learnt the
// new leader, or be it); a doubted node to dial; any live link not asked
// already. It returns nil and "" when there is none.
func (c *Client) askTargetLocked() (*link, string) {
	now := c.now()
	usable := func(l *link) bool {
		_, asked := c.mu.route.asks[l]
		return l.liveLocked() && !asked
	}
	unsuspected := func(l *link) bool {
		return usable(l) && !l.suspected && !c.silentLocked(l, now)
	}
	trusted := func(l *link) bool {
		return unsuspected(l) && !c.doubtedLocked(l.addr, now)
	}
	if l := c.pickLinkLocked(trusted); l != nil {
		return l, ""
	}
	if a := c.candidateLocked(false); a != "" {
		return nil, a
	}
	if l := c.pickLinkLocked(unsuspected); l != nil {
		return l, ""
	}
	if a := c.candidateLocked(true); a != "" {
		return nil, a
	}
	return c.pickLinkLocked(usable), ""
}

// pickLinkLocked returns the link last connected if ok accepts it, else
// any link ok accepts, else nil.
func (c *Client) pickLinkLocked(ok func(*link) bool) *link {
	if h := c.mu.home; h != nil && ok(h) {
		return h
	}
	for _, l := range c.mu.links {
		if ok(l) {
			return l
		}
	}
	return nil
}

// askDueLocked expires the METADATA requests out for DialTimeout (their
// connections are dropped: the node hangs) and returns how long until
// another may be sent (0: now).
func (c *Client) askDueLocked(now time.Time) time.Duration {
	r := &c.mu.route
	var latest time.Time
	for l, at := range r.asks {
		if now.Sub(at) >= c.opts.DialTimeout {
			// No answer in time: the node hangs (paused, or cut off).
			// Its connection is dropped, so its requests go elsewhere.
			if cn := l.conn; cn != nil {
				cn.kill(errNoAnswer)
			}
			delete(r.asks, l)
			continue
		}
		latest = later(latest, at)
	}
	switch {
	case len(r.asks) == 0:
		return 0
	case len(r.asks) >= maxAsks:
		return askHedge
	}
	return max(latest.Add(askHedge).Sub(now), 0)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
