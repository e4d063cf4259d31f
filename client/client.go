package client

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// Client is a connection to a SwarmMQ node, or to the nodes of a cluster,
// that reconnects by itself. It is safe for concurrent use: any number of
// goroutines may publish, fetch and ack through one Client, and their
// requests share the connections (replies are matched by correlation id).
//
// A Client keeps one link per node it needs (link.go): the node of the
// first seed that answered, and each node that leads a partition the
// application uses (routing.go). It owns a router goroutine, which
// follows leadership, reconnects and times out requests, and per live
// connection a reader and a writer. The writer coalesces: it writes every
// queued request into one buffer and flushes only when the queue is
// empty, so many requests share a system call under load. Close stops
// them all and waits for them.
//
// Lock order: Client.mu before Publisher.mu (the writer takes a
// publisher's batches while holding Client.mu); never the other way.
type Client struct {
	opts     Options
	seeds    []string
	log      *slog.Logger
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	g        group
	producer atomic.Uint64 // the producer session's id, stamped on messages
	sealer   *seal.Sealer  // nil without Options.Keyring
	now      func() time.Time
	rng      *mrand.Rand   // used by the router goroutine only
	kickC    chan struct{} // one slot: the router has work
	noMeta   atomic.Bool   // a node answered no METADATA: it is served as a single node
	parts    atomic.Uint32 // the partition count (HELLO_OK), for routing

	nextCorr atomic.Uint64
	maxFrame atomic.Int64 // negotiated largest frame

	// ids draws message ids: ChaCha8 (a CSPRNG) seeded from crypto/rand,
	// so nobody can predict the next id from the ones they have seen.
	ids struct {
		sync.Mutex
		rand *mrand.ChaCha8
	}

	// limits is what the latest HELLO_OK announced (limits.go).
	limits atomic.Pointer[Limits]

	stats counters // Stats (stats.go)
	cbg   sync.Map // goroutine ids running Publisher callbacks (callbacks.go)
	hooks *hooks   // Options.Hooks by kind; nil: none (hooks.go)
	ev    *events  // connection events for OnConnState and hooks; nil: nobody listens (state.go)

	// sess is the producer session (see session.go); inflight bounds the
	// session's unacknowledged messages to the window the node granted.
	sess     session
	inflight struct {
		sync.Mutex
		gate
	}

	mu struct {
		sync.Mutex
		links   map[string]*link // by address: live, dialling, or failed and not yet collected
		home    *link            // the link last connected: PING goes there
		table   table            // who leads each partition (routing.go)
		pending map[uint64]*call // requests submitted and not answered
		parked  []*call          // pending requests waiting for a leader to send them to
		pubs    []*Publisher     // open publishers
		down    map[string]time.Time
		route   routeState // the router's refresh and backoff state
		nodeID  string
		lost    map[string]bool // addresses a connection was lost to: the next one is a reconnect
		closed  bool            // Close was called
		ended   bool            // StateClosed was emitted
		err     error           // why requests fail now: ErrClosed (wrapping why, after giving up)
		drain   drainState      // Drain (drain.go)
	}
}

// Dial connects to the first seed of opts.Addr that answers and performs
// the HELLO exchange, within opts.DialTimeout per attempt. While no seed
// can be reached (a refused or unreachable address, a node shutting down
// or at its connection limit), Dial tries every seed again, pausing
// between rounds as reconnecting does (ReconnectWait doubling up to
// MaxReconnectWait, with jitter), until ctx ends (or after MaxReconnects
// rounds, when set; one round with NoReconnect). A seed that answered but
// cannot be used (not a SwarmMQ port, the wrong transport, a handshake
// refused with an ERROR frame, which the error then wraps as a
// *frame.Error) ends the round's retries: trying again would not help.
// The error names each seed and why it failed in the last round.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, seeds: opts.seeds(), log: opts.Logger, now: time.Now, kickC: make(chan struct{}, 1)}
	if opts.Keyring != nil {
		s, err := seal.NewSealer(opts.Keyring, nil)
		if err != nil {
			return nil, wrapOp("dial "+opts.Addr, err)
		}
		c.sealer = s
	}
	var seed [48]byte
	_, _ = rand.Read(seed[:]) // never fails (crypto/rand)
	c.ids.rand = mrand.NewChaCha8([32]byte(seed[:32]))
	c.rng = mrand.New(mrand.NewPCG(binary.BigEndian.Uint64(seed[32:]), binary.BigEndian.Uint64(seed[40:])))
	c.inflight.limit = math.MaxInt
	c.sess.id, c.sess.token = opts.Session.ID, opts.Session.Token
	c.hooks = newHooks(opts.Hooks)
	c.mu.pending = make(map[uint64]*call)
	c.mu.links = make(map[string]*link)
	c.mu.down = make(map[string]time.Time)
	c.mu.lost = make(map[string]bool)
	c.maxFrame.Store(int64(cmp.Or(opts.MaxFrame, frame.DefaultMaxFrame))) // until HELLO_OK

	addr, cn, err := c.dialSeeds(ctx)
	if err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.ev = newEvents(opts.OnConnState, c.hooks)
	if c.ev != nil {
		go c.ev.run() // ends after StateClosed; Close waits for it
	}
	c.mu.Lock()
	l := c.newLinkLocked(addr)
	c.connectedLocked(l, cn)
	c.mu.Unlock()
	c.g.Go("router", c.run)
	return c, nil
}

// dialSeeds makes Dial's rounds over the seeds (see Dial) and returns the
// first connection made and its address.
func (c *Client) dialSeeds(ctx context.Context) (string, *conn, error) {
	var wait time.Duration
	for round := 1; ; round++ {
		var errs []error
		again := false
		for _, addr := range c.seeds {
			cn, err := c.connect(ctx, addr)
			if err == nil {
				return addr, cn, nil
			}
			again = again || unreached(err)
			errs = append(errs, wrapOp("dial "+addr, c.diagnose(ctx, addr, err)))
			if ctx.Err() != nil {
				break
			}
		}
		err := errs[0]
		if len(errs) > 1 {
			err = errors.Join(errs...)
		}
		if !again || ctx.Err() != nil || c.opts.NoReconnect || (c.opts.MaxReconnects > 0 && round >= c.opts.MaxReconnects) {
			return "", nil, err
		}
		wait = min(max(2*wait, c.opts.ReconnectWait), c.opts.MaxReconnectWait)
		c.log.Info("swarmmq client: no seed reachable, dialling again", "round", round, "err", err)
		if !sleepCtx(ctx, c.jitter(wait)) {
			return "", nil, err
		}
	}
}

// unreached reports whether a failed connection attempt never reached a
// node that could serve it: the address refused or could not be reached
// (nothing listens yet), or the node answered that it is shutting down
// or full. Such an attempt is worth making again; one that reached
// something else (see Dial) is not.
func unreached(err error) bool {
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return true
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return true
	}
	return IsCode(err, frame.CodeShuttingDown) || IsCode(err, frame.CodeTooManyConnections)
}

// Close fails every outstanding request with ErrClosed, closes the
// connections and waits for the Client's goroutines, at once: messages a
// Publisher holds unsent fail too. CloseContext and Drain first let what
// is on its way finish. Close may be called more than once, but not from
// a Publisher's done callback or an OnConnState handler.
func (c *Client) Close() {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		c.g.Wait()
		c.ev.wait()
		return
	}
	c.mu.closed = true
	c.mu.err = ErrClosed
	var conns []*conn
	for _, l := range c.mu.links {
		if l.conn != nil {
			conns = append(conns, l.conn)
		}
	}
	c.mu.Unlock()
	c.cancel()
	for _, cn := range conns {
		cn.kill(ErrClosed)
	}
	c.g.Wait()
	c.failAll(nil)
	c.ev.wait()
}

// ProducerID returns the producer id stamped on every message this Client
// publishes: its producer session's, which the node issued (0 if the node
// opened none).
func (c *Client) ProducerID() uint64 { return c.producer.Load() }

// KeyID returns the id of the key this Client seals with (the current key
// of Options.Keyring), or 0 when it publishes unsealed payloads.
func (c *Client) KeyID() uint32 {
	if c.sealer == nil {
		return 0
	}
	return c.sealer.KeyID()
}

// NodeID returns the id of the node the last connection reached.
func (c *Client) NodeID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.nodeID
}

// MaxFrame returns the largest frame in force on the connections: the
// server's, or the smaller of Options.MaxFrame and the server's.
func (c *Client) MaxFrame() int { return int(c.maxFrame.Load()) }

// Ping sends a PING to a node the Client is connected to and waits for
// the PONG. A PING takes no credit.
func (c *Client) Ping(ctx context.Context) error {
	s := newSyncCall(frame.AppendPing(nil, 0), frame.TypePong, false, nil)
	s.free, s.part = true, anyPartition
	return wrapOp("ping", c.roundTrip(ctx, c.opts.RequestTimeout, s))
}

// newIDSource returns a new ChaCha8 stream keyed from the Client's, for a
// Publisher: its ids are as unpredictable and cost no lock of the Client.
func (c *Client) newIDSource() *mrand.ChaCha8 {
	var key [32]byte
	c.ids.Lock()
	_, _ = c.ids.rand.Read(key[:]) // never fails
	c.ids.Unlock()
	return mrand.NewChaCha8(key)
}

// newID returns a random message id: 128 bits of a CSPRNG, unique across
// clients and restarts without coordination and unpredictable to anyone
// who has seen other ids.
func (c *Client) newID() (id [16]byte) {
	c.ids.Lock()
	_, _ = c.ids.rand.Read(id[:]) // never fails
	c.ids.Unlock()
	return id
}

// submit takes a credit of the link that serves the call's partition
// (waiting for one while ctx allows), gives the call a correlation id and
// queues it for that link's writer. A call whose partition has no known
// leader waits, parked, for the router to find one.
func (c *Client) submit(ctx context.Context, cl *call) error {
	for {
		c.mu.Lock()
		if c.mu.err != nil {
			err := c.mu.err
			c.mu.Unlock()
			return err
		}
		l := c.linkForLocked(cl.part)
		if l == nil {
			c.registerLocked(cl)
			c.parkLocked(cl)
			c.mu.Unlock()
			c.kick()
			return nil
		}
		if cl.free || l.credits.tryLocked() {
			c.registerLocked(cl)
			c.queueLocked(l, cl)
			c.mu.Unlock()
			l.signal()
			return nil
		}
		ch := l.credits.waitLocked()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// registerLocked gives cl a correlation id and makes it pending.
func (c *Client) registerLocked(cl *call) {
	cl.corr = c.nextCorr.Add(1)
	setCorr(cl.buf, cl.corr)
	c.mu.pending[cl.corr] = cl
}

// queueLocked queues the pending call cl on l, whose credit it holds (or
// takes now, beyond the grant if need be: the writer still sends no more
// than the grant).
func (c *Client) queueLocked(l *link, cl *call) {
	if cl.l == nil && !cl.free && cl.state == stateParked {
		l.credits.used++
	}
	cl.l = l
	cl.state = stateQueued
	l.queue = append(l.queue, cl)
}

// control queues a frame that expects no reply (a PONG, a keep-alive
// PING) for l's current connection only.
func (c *Client) control(l *link, buf []byte) {
	c.mu.Lock()
	l.queue = append(l.queue, &call{buf: buf, noReply: true, l: l})
	c.mu.Unlock()
	l.signal()
}

// abandon detaches a call its caller no longer waits for. It returns false
// if the call has already left the pending set (its fn runs or ran).
func (c *Client) abandon(cl *call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.pending[cl.corr] != cl {
		return false
	}
	if cl.state == stateQueued || cl.state == stateParked {
		c.dropLocked(cl)
		cl.state = stateCancelled
		return true
	}
	cl.abandoned = true
	return true
}

// complete ends the pending call corr with a reply or an error. Unknown
// correlation ids (abandoned calls dropped at a reconnect) are ignored. A
// PUBLISH_ACK saying NOT_LEADER for any of its messages sends the whole
// PUBLISH again, byte for byte, to the partition's new leader instead
// (the messages stored meanwhile come back as duplicates).
func (c *Client) complete(corr uint64, f frame.Frame, err error) {
	c.mu.Lock()
	cl, ok := c.mu.pending[corr]
	if !ok {
		c.mu.Unlock()
		return
	}
	if err == nil && f.Type == frame.TypePublishAck && cl.resend && !cl.abandoned && notLeader(f.Body) {
		c.rerouteLocked(cl)
		c.mu.Unlock()
		c.kick()
		return
	}
	c.dropLocked(cl)
	c.mu.Unlock()
	cl.fn(f, err)
}

// dropLocked removes cl from the pending set and gives back its credit.
func (c *Client) dropLocked(cl *call) {
	delete(c.mu.pending, cl.corr)
	if cl.state == stateParked {
		// No reference may outlive the call: a Publisher reuses its
		// batches once their callers are answered.
		if i := slices.Index(c.mu.parked, cl); i >= 0 {
			c.mu.parked = slices.Delete(c.mu.parked, i, i+1)
		}
	}
	c.releaseLocked(cl)
}

// releaseLocked gives back the credit cl holds on its link, if any.
func (c *Client) releaseLocked(cl *call) {
	l := cl.l
	cl.l = nil
	if cl.free || l == nil {
		return
	}
	l.credits.releaseLocked(1)
	if cl.state == stateWritten {
		l.wire--
	}
}

// failAll ends every pending call with err (ErrClosed when nil: Close),
// makes the Client and its publishers answer any further request with
// ErrClosed (wrapping err), and emits StateClosed.
func (c *Client) failAll(err error) {
	c.mu.Lock()
	if c.mu.err == nil {
		c.mu.err = withCause(ErrClosed, err)
	}
	if !c.mu.ended {
		c.mu.ended = true
		c.ev.emit(ConnEvent{State: StateClosed, Err: err})
	}
	if err == nil {
		err = ErrClosed
	}
	final := c.mu.err
	calls := make([]*call, 0, len(c.mu.pending))
	for _, cl := range c.mu.pending {
		calls = append(calls, cl)
	}
	clear(c.mu.pending)
	clear(c.mu.parked)
	c.mu.parked = nil
	for _, l := range c.mu.links {
		clear(l.queue)
		l.queue = l.queue[:0]
		l.credits.releaseLocked(l.credits.used)
		l.pubs = nil
	}
	pubs := c.mu.pubs
	c.mu.pubs = nil
	c.mu.Unlock()
	for _, cl := range calls {
		cl.fn(frame.Frame{}, err)
	}
	for _, p := range pubs {
		p.fail(final)
	}
}

// checkName validates a destination (code BAD_DESTINATION, with
// frame.ValidDestination) or group name (BAD_GROUP, frame.ValidName)
// before it goes on the wire, with the server's code for the failure.
func checkName(name string, code frame.Code) error {
	if code == frame.CodeBadGroup {
		if frame.ValidName([]byte(name)) {
			return nil
		}
		return &frame.Error{Code: code, Msg: fmt.Sprintf("group %q must be 1-%d bytes of [A-Za-z0-9._-]", name, frame.MaxNameLen)}
	}
	if frame.ValidDestination([]byte(name)) {
		return nil
	}
	return &frame.Error{Code: code, Msg: fmt.Sprintf("destination %q (%d bytes) must be 1-%d bytes of [A-Za-z0-9._-], or up to %d ending in %s",
		name, len(name), frame.MaxDestinationLen, frame.MaxNameLen, frame.DeadLetterSuffix)}
}
