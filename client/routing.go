package client

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/route"
)

// maxRefreshWait caps the pause between two METADATA requests to a live
// node while a partition has no leader the Client can reach (an
// election): short, so that requests move soon after a new leader is
// elected (a fraction of the 300–550 ms election timeout).
const maxRefreshWait = 150 * time.Millisecond

// errLeaderMoved ends a silent connection whose node no longer leads the
// partition of a request outstanding on it.
var errLeaderMoved = errors.New("swarmmq/client: the node is silent and no longer leads a partition of its requests")

// errNoAnswer ends a connection whose node did not answer METADATA within
// Options.DialTimeout.
var errNoAnswer = errors.New("swarmmq/client: no answer to METADATA in time")

// table says which node leads each partition, as the Client last learnt
// it. It is a plain value; the Client's mutex guards the one in use.
type table struct {
	gen    uint64   // counts the tables installed
	epoch  uint64   // the node's epoch (frame.Metadata.Epoch)
	from   string   // the address of the node it came from; "" when built here
	single string   // set when one node leads every partition (a single node)
	addrs  []string // per partition, the leader's client address; "" while none is known
}

// addr returns the address of the leader of part, "" if none is known.
func (t *table) addr(part int32) string {
	switch {
	case t.single != "":
		return t.single
	case part < 0 || int(part) >= len(t.addrs):
		return ""
	}
	return t.addrs[part]
}

// equal reports whether t and u route every partition alike.
func (t *table) equal(u *table) bool {
	return t.single == u.single && slices.Equal(t.addrs, u.addrs)
}

// newTable builds the table of a METADATA_OK received on a connection to
// self (the empty address names self).
func newTable(m *frame.Metadata, self string) table {
	t := table{epoch: m.Epoch, addrs: make([]string, len(m.Leaders))}
	for p, i := range m.Leaders {
		switch {
		case i == frame.NoLeader:
		case len(m.Nodes[i]) == 0:
			t.addrs[p] = self
		default:
			t.addrs[p] = string(m.Nodes[i])
		}
	}
	if len(t.addrs) > 0 && t.addrs[0] != "" && !slices.ContainsFunc(t.addrs, func(a string) bool { return a != t.addrs[0] }) {
		t.single, t.addrs = t.addrs[0], nil
	}
	return t
}

// routeState is the router's state: whether the table is known to be
// stale, the backoff of its refreshes and dials. Guarded by Client.mu.
type routeState struct {
	stale    bool                 // a request met NOT_LEADER or a lost link since the last table
	asks     map[*link]time.Time  // the links a METADATA request (or handshake) is out on, and since when
	doubt    map[string]time.Time // nodes not to ask for METADATA before then (discover.go)
	suspects map[string]time.Time // of those, the silent or overdue ones, whose claims to lead are not believed
	epochs   map[string]uint64    // the last epoch of each node's table
	next     time.Time            // no refresh before
	wait     time.Duration        // the pause after the next failed refresh
	failures int                  // dials failed in a row
	lastErr  error                // the last dial failure
	seed     int                  // the next candidate address to dial
	known    []string             // node addresses learnt from tables (learnLocked)
}

// connected resets the backoff: a node answered.
func (r *routeState) connected() {
	r.failures, r.lastErr, r.wait = 0, nil, 0
}

// kick wakes the router without blocking.
func (c *Client) kick() {
	select {
	case c.kickC <- struct{}{}:
	default:
	}
}

// partitionOf returns the partition of dest, by the partition count the
// nodes announced (0 before the first HELLO_OK).
func (c *Client) partitionOf(dest string) int32 {
	n := c.parts.Load()
	if n == 0 {
		return 0
	}
	return int32(route.Partition([]byte(dest), n))
}

// linkForLocked returns the link to the leader of part, making it (and
// dialling it) if there is none yet; while its address backs off after a
// failed dial, any live link; nil when no leader is known (or no link is
// live). anyPartition takes the link last connected, or any live one.
func (c *Client) linkForLocked(part int32) *link {
	if part == anyPartition {
		if h := c.mu.home; h != nil && h.liveLocked() {
			return h
		}
		for _, l := range c.mu.links {
			if l.liveLocked() {
				return l
			}
		}
		part = 0
	}
	addr := c.mu.table.addr(part)
	if addr == "" {
		return nil
	}
	if l := c.mu.links[addr]; l != nil {
		return l
	}
	if until, ok := c.mu.down[addr]; ok && c.now().Before(until) {
		// The leader cannot be dialled (dead, or its advertised address
		// is not reachable from here): a live node may forward the
		// request to it, or answers NOT_LEADER, which parks it until the
		// next table.
		return c.liveLinkLocked()
	}
	return c.startDialLocked(addr)
}

// parkLocked makes the pending call cl (which holds no credit) wait for a
// table newer than the current one.
func (c *Client) parkLocked(cl *call) {
	cl.state = stateParked
	cl.gen = c.mu.table.gen
	c.mu.parked = append(c.mu.parked, cl)
	c.mu.route.stale = true
}

// rerouteLocked takes the pending call cl off its link (a NOT_LEADER
// answer, a lost connection) and parks it.
func (c *Client) rerouteLocked(cl *call) {
	if cl.l != nil {
		c.doubtLocked(cl.l.addr, false)
	}
	c.releaseLocked(cl)
	c.parkLocked(cl)
}

// notLeader reports whether a PUBLISH_ACK body has a NOT_LEADER entry.
func notLeader(body []byte) bool {
	pa, err := frame.DecodePublishAck(body)
	if err != nil {
		return false
	}
	for i := range pa.Len() {
		if pa.Entry(i).Code == frame.CodeNotLeader {
			return true
		}
	}
	return false
}

// installTableLocked installs t unless it is older than the current table
// (a smaller epoch) while that one has not failed, then sends the parked
// requests and moves the publishers by it.
func (c *Client) installTableLocked(t table) {
	cur := &c.mu.table
	r := &c.mu.route
	if t.from != "" {
		// Epochs are a node's own count: only an answer of the same node
		// can be older.
		if e, ok := r.epochs[t.from]; ok && t.epoch < e {
			return
		}
		if r.epochs == nil {
			r.epochs = map[string]uint64{}
		}
		r.epochs[t.from] = t.epoch
		t = c.trustLocked(t)
	}
	if !cur.equal(&t) {
		c.mu.route.wait = 0
		c.log.Info("swarmmq client: partition leaders", "from", t.from, "epoch", t.epoch, "single", t.single, "leaders", len(t.addrs))
	}
	t.gen = cur.gen + 1
	c.learnLocked(t)
	c.mu.table = t
	c.mu.route.stale = false
	c.dropSilentLocked()
	c.placeLocked()
	c.placePublishersLocked()
}

// dropSilentLocked ends the connection of each suspect link (silent or
// overdue, discover.go) whose node no longer leads the partition of a
// request written on it, by the current table: its requests then go to
// the new leader (lostLocked), instead of waiting for a node that may
// never answer.
func (c *Client) dropSilentLocked() {
	var silent []*link
	for _, l := range c.mu.links {
		if l.suspected && l.liveLocked() {
			silent = append(silent, l)
		}
	}
	if len(silent) == 0 {
		return
	}
	for _, cl := range c.mu.pending {
		if cl.state != stateWritten || cl.part == anyPartition || !slices.Contains(silent, cl.l) {
			continue
		}
		if a := c.mu.table.addr(cl.part); a != "" && a != cl.l.addr {
			c.log.Warn("swarmmq client: leader moved away from a silent node", "addr", cl.l.addr, "leader", a)
			cl.l.conn.kill(errLeaderMoved)
			silent = slices.DeleteFunc(silent, func(l *link) bool { return l == cl.l })
			if len(silent) == 0 {
				return
			}
		}
	}
}

// placeLocked sends each parked request that failed with an older table to
// its partition's leader by the current one, in submission order.
func (c *Client) placeLocked() {
	if len(c.mu.parked) == 0 {
		return
	}
	parked := c.mu.parked
	slices.SortFunc(parked, func(a, b *call) int { return cmp.Compare(a.corr, b.corr) })
	keep := parked[:0]
	for _, cl := range parked {
		if cl.state != stateParked || c.mu.pending[cl.corr] != cl {
			continue
		}
		var l *link
		if cl.gen < c.mu.table.gen {
			l = c.linkForLocked(cl.part)
		}
		if l == nil {
			keep = append(keep, cl)
			continue
		}
		c.queueLocked(l, cl)
		l.signal()
	}
	clear(parked[len(keep):])
	c.mu.parked = keep
	if len(keep) > 0 {
		c.mu.route.stale = true
	}
}

// publisherWaitsLocked reports whether a Publisher holds messages while
// the table names no leader for its partition: the table must be asked
// for again (with the router's backoff) until one does.
func (c *Client) publisherWaitsLocked() bool {
	for _, p := range c.mu.pubs {
		if p.link.Load() == nil && p.waitingLocked() {
			return true
		}
	}
	return false
}

// placePublishersLocked attaches every publisher to the link of its
// destination's leader.
func (c *Client) placePublishersLocked() {
	for _, p := range c.mu.pubs {
		c.placePublisherLocked(p)
	}
}

// placePublisherLocked moves p to the link of its destination's leader
// (or detaches it while there is none). A Publisher with no leader makes
// the table stale: the router asks again (with its backoff) until a table
// names one. Nothing else would: no request of the Publisher is parked or
// written while it is detached, so without this its messages waited for an
// unrelated failure (26 and 44 s in a chaos run, when the table came from
// a node cut off from the leader; docs/cluster.md).
func (c *Client) placePublisherLocked(p *Publisher) {
	want := c.linkForLocked(p.part)
	if want == nil && !c.mu.route.stale {
		c.mu.route.stale = true
		c.kick()
	}
	cur := p.link.Load()
	if want == cur {
		return
	}
	if cur != nil {
		if i := slices.Index(cur.pubs, p); i >= 0 {
			cur.pubs = slices.Delete(cur.pubs, i, i+1)
		}
	}
	p.link.Store(want)
	if want != nil {
		want.pubs = append(want.pubs, p)
		if p.hint.Load() {
			want.signal()
		}
	}
}

// run is the router goroutine: it collects lost links, refreshes the
// leader table when a request needs it (with backoff), times out
// publisher batches (sweep) and keeps connections alive, until the Client
// is closed or gives up.
func (c *Client) run() {
	tick := time.NewTicker(tickInterval(c.opts))
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	watch := time.NewTicker(watchInterval)
	defer watch.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kickC:
		case <-retry.C:
		case <-watch.C:
			c.watch()
			continue
		case now := <-tick.C:
			c.sweep(now)
			c.keepAlive(now)
		}
		wait, ok := c.step()
		if !ok {
			return
		}
		if wait > 0 {
			retry.Reset(wait)
		}
	}
}

// step does the router's work once. It returns how long to wait before
// the next step is due (0: when woken), and false when the Client stops.
func (c *Client) step() (time.Duration, bool) {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return 0, false
	}
	var failed []*call
	var lost error
	for _, l := range c.mu.links {
		if err, ok := c.ended(l); ok {
			if l.conn != nil {
				lost = err
				c.log.Warn("swarmmq client: connection lost", "addr", l.addr, "err", err)
				c.mu.lost[l.addr] = true
				c.ev.emit(ConnEvent{State: StateDisconnected, Addr: l.addr, Err: err})
			}
			failed = append(failed, c.lostLocked(l)...)
		}
	}
	if lost != nil && c.opts.NoReconnect {
		c.mu.Unlock()
		c.failCalls(failed, lost)
		c.failAll(withCause(ErrConnectionLost, lost))
		return 0, false
	}
	wait, giveUp := c.refreshLocked()
	c.mu.Unlock()
	c.failCalls(failed, lost)
	if giveUp != nil {
		c.log.Error("swarmmq client: giving up", "addr", c.opts.Addr, "err", giveUp)
		c.failAll(giveUp)
		return 0, false
	}
	return wait, true
}

// failCalls fails calls that cannot be sent again after a lost connection.
func (c *Client) failCalls(calls []*call, cause error) {
	err := withCause(ErrConnectionLost, cause)
	for _, cl := range calls {
		cl.fn(frame.Frame{}, err)
	}
}

// ended reports whether l is over: its dial failed (counted as a failed
// attempt, and its address backs off), or its connection died and its
// reader and writer have stopped.
func (c *Client) ended(l *link) (error, bool) {
	if l.dialErr != nil {
		r := &c.mu.route
		r.failures++
		r.lastErr = l.dialErr
		delete(r.asks, l)
		c.mu.down[l.addr] = c.now().Add(c.jitter(max(r.wait, c.opts.ReconnectWait)))
		c.log.Info("swarmmq client: connect failed", "addr", l.addr, "attempt", r.failures, "err", l.dialErr)
		return l.dialErr, true
	}
	cn := l.conn
	if cn == nil || !cn.isDead() || !closed(cn.readerDone) || !closed(cn.writerDone) {
		return nil, false
	}
	delete(c.mu.route.asks, l)
	return cn.err, true
}

// closed reports whether ch is closed.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// refreshLocked asks for a new table when one is needed and no request
// for one is out: METADATA on a live link, else a dial of the next
// candidate address (its handshake brings the table). It returns when to
// try next, and the error to give up with after MaxReconnects (when set)
// failed dials in a row while no node is reachable.
func (c *Client) refreshLocked() (time.Duration, error) {
	r := &c.mu.route
	if !r.stale && len(c.mu.parked) == 0 && !c.publisherWaitsLocked() {
		return 0, nil
	}
	live := c.liveLinkLocked()
	if live == nil && c.opts.MaxReconnects > 0 && r.failures >= c.opts.MaxReconnects {
		return 0, withCause(ErrConnectionLost, fmt.Errorf("gave up after %d reconnect attempts: %w", r.failures, r.lastErr))
	}
	now := c.now()
	if left := c.askDueLocked(now); left > 0 {
		return left, nil
	}
	if now.Before(r.next) {
		return r.next.Sub(now), nil
	}
	if live != nil && c.noMeta.Load() {
		// A node without METADATA leads everything: a new table is the
		// same one, which sends the parked requests again.
		c.installTableLocked(c.mu.table)
	} else {
		switch l, addr := c.askTargetLocked(); {
		case l != nil:
			c.askLocked(l)
		case addr != "":
			c.askingLocked(c.startDialLocked(addr), now)
		}
	}
	wait := r.wait
	r.wait = min(max(2*r.wait, c.opts.ReconnectWait), c.opts.MaxReconnectWait)
	if live != nil {
		wait = min(wait, maxRefreshWait)
		r.wait = min(r.wait, maxRefreshWait)
	}
	wait = c.jitter(wait)
	r.next = now.Add(wait)
	return max(wait, time.Millisecond), nil
}

// liveLinkLocked returns a live link to ask for METADATA: one that is not
// silent (silentLocked), the one last connected first, else any live one.
func (c *Client) liveLinkLocked() *link {
	now := c.now()
	var fallback *link
	if h := c.mu.home; h != nil && h.liveLocked() {
		if !c.silentLocked(h, now) {
			return h
		}
		fallback = h
	}
	for _, l := range c.mu.links {
		if l.liveLocked() {
			if !c.silentLocked(l, now) {
				return l
			}
			fallback = l
		}
	}
	return fallback
}

// maxKnown bounds the node addresses the Client remembers from tables.
const maxKnown = 64

// learnLocked remembers the leaders' addresses of t: after a failure the
// Client may dial any of them for a new table, even when they lead
// nothing any more (the seeds may all be down).
func (c *Client) learnLocked(t table) {
	add := func(a string) {
		if a != "" && len(c.mu.route.known) < maxKnown && !slices.Contains(c.mu.route.known, a) {
			c.mu.route.known = append(c.mu.route.known, a)
		}
	}
	add(t.single)
	for _, a := range t.addrs {
		add(a)
	}
}

// askingLocked records a METADATA request (or a handshake) out on l.
func (c *Client) askingLocked(l *link, now time.Time) {
	r := &c.mu.route
	if r.asks == nil {
		r.asks = map[*link]time.Time{}
	}
	r.asks[l] = now
}

// candidateLocked returns the next address to dial for a table: the seeds
// and the nodes learnt from tables in turn, skipping those with a link
// already and, unless doubted is set, those doubted (discover.go).
func (c *Client) candidateLocked(doubted bool) string {
	cands := slices.Clone(c.seeds)
	for _, a := range c.mu.route.known {
		if !slices.Contains(cands, a) {
			cands = append(cands, a)
		}
	}
	now := c.now()
	for range cands {
		a := cands[c.mu.route.seed%len(cands)]
		c.mu.route.seed++
		if c.mu.links[a] == nil && (doubted || !c.doubtedLocked(a, now)) {
			return a
		}
	}
	return ""
}

// askLocked sends METADATA on l; the answer installs the table.
func (c *Client) askLocked(l *link) {
	c.askingLocked(l, c.now())
	s := &call{buf: frame.AppendMetadata(nil, 0), free: true, part: anyPartition}
	s.fn = func(f frame.Frame, err error) { c.gotMetadata(l, f, err) }
	c.registerLocked(s)
	c.queueLocked(l, s)
	l.signal()
}

// gotMetadata handles the answer to askLocked's METADATA, on l's reader.
func (c *Client) gotMetadata(l *link, f frame.Frame, err error) {
	var m frame.Metadata
	if err == nil {
		switch {
		case f.Type != frame.TypeMetadataOK:
			err = fmt.Errorf("%w: METADATA answered by %s", ErrProtocol, f.Type)
		default:
			err = frame.DecodeMetadataOK(f.Body, &m)
		}
	}
	c.mu.Lock()
	delete(c.mu.route.asks, l)
	if err == nil && !c.mu.closed {
		t := newTable(&m, l.addr)
		t.from = l.addr
		c.installTableLocked(t)
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Info("swarmmq client: METADATA failed", "addr", l.addr, "err", err)
	}
	c.kick()
}
