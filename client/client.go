package client

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// Client is a connection to a SwarmMQ node that reconnects by itself. It
// is safe for concurrent use: any number of goroutines may publish, fetch
// and ack through one Client, and their requests share the connection
// (replies are matched by correlation id).
//
// A Client owns three goroutines: a supervisor that reconnects, and a
// reader and a writer per connection. The writer coalesces: it writes
// every queued request into one buffer and flushes only when the queue is
// empty, so many requests share a system call under load. Close stops all
// three and waits for them.
//
// Lock order: Client.mu before Publisher.mu (the writer takes a
// publisher's batches while holding Client.mu); never the other way.
type Client struct {
	opts     Options
	log      *slog.Logger
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	g        group
	producer atomic.Uint64 // the producer session's id, stamped on messages
	sealer   *seal.Sealer  // nil without Options.Keyring
	now      func() time.Time
	rng      *mrand.Rand // used by the supervisor goroutine only

	nextCorr atomic.Uint64
	maxFrame atomic.Int64         // negotiated largest frame
	cur      atomic.Pointer[conn] // current connection, for waking its writer

	// ids draws message ids: ChaCha8 (a CSPRNG) seeded from crypto/rand,
	// so nobody can predict the next id from the ones they have seen.
	ids struct {
		sync.Mutex
		rand *mrand.ChaCha8
	}

	// sess is the producer session (see session.go); inflight bounds the
	// session's unacknowledged messages to the window the node granted.
	sess     session
	inflight struct {
		sync.Mutex
		gate
	}

	mu struct {
		sync.Mutex
		conn    *conn            // nil while reconnecting
		pending map[uint64]*call // requests submitted and not answered
		queue   []*call          // requests to write, in submission order
		credits gate             // used: pending requests holding a credit; limit: the server's grant
		wire    int              // requests written on conn and not answered
		pubs    []*Publisher     // open publishers, polled by the writer
		pubNext int              // where the writer's next poll of pubs starts
		nodeID  string
		closed  bool  // Close was called
		err     error // why requests fail now: ErrClosed (wrapping why, after giving up)
	}
}

// Dial connects to opts.Addr and performs the HELLO exchange, within
// opts.DialTimeout and ctx. A server that refuses the handshake with an
// ERROR frame yields an error wrapping that *frame.Error. Dial tries once;
// reconnecting starts only after a first connection succeeded.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, log: opts.Logger, now: time.Now}
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
	c.mu.pending = make(map[uint64]*call)
	c.mu.credits.limit = int(opts.Credits)
	c.maxFrame.Store(int64(cmp.Or(opts.MaxFrame, frame.DefaultMaxFrame))) // until HELLO_OK

	cn, err := c.connect(ctx)
	if err != nil {
		return nil, wrapOp("dial "+opts.Addr, c.diagnose(ctx, err))
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.install(cn)
	c.g.Go("supervisor", func() { c.supervise(cn) })
	return c, nil
}

// Close fails every outstanding request with ErrClosed, closes the
// connection and waits for the Client's goroutines. Messages a Publisher
// holds unsent fail too: Flush or Close publishers first. Close may be
// called more than once, but not from a Publisher's done callback.
func (c *Client) Close() {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		c.g.Wait()
		return
	}
	c.mu.closed = true
	c.mu.err = ErrClosed
	cn := c.mu.conn
	c.mu.Unlock()
	c.cancel()
	if cn != nil {
		cn.kill(ErrClosed)
	}
	c.g.Wait()
	c.failAll(ErrClosed)
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

// NodeID returns the id of the node the current (or last) connection
// reached.
func (c *Client) NodeID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.nodeID
}

// MaxFrame returns the largest frame in force on the connection: the
// server's, or the smaller of Options.MaxFrame and the server's.
func (c *Client) MaxFrame() int { return int(c.maxFrame.Load()) }

// Ping sends a PING and waits for the PONG. A PING takes no credit.
func (c *Client) Ping(ctx context.Context) error {
	s := newSyncCall(frame.AppendPing(nil, 0), frame.TypePong, false, nil)
	s.free = true
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

// submit takes a credit (waiting for one while ctx allows), gives the call
// a correlation id and queues it for the writer.
func (c *Client) submit(ctx context.Context, cl *call) error {
	for {
		c.mu.Lock()
		if c.mu.err != nil {
			err := c.mu.err
			c.mu.Unlock()
			return err
		}
		if cl.free || c.mu.credits.tryLocked() {
			c.enqueueLocked(cl)
			c.mu.Unlock()
			c.wakeWriter()
			return nil
		}
		ch := c.mu.credits.waitLocked()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// enqueueLocked registers cl as pending (its credit already taken) and
// queues it.
func (c *Client) enqueueLocked(cl *call) {
	cl.corr = c.nextCorr.Add(1)
	setCorr(cl.buf, cl.corr)
	cl.state = stateQueued
	c.mu.pending[cl.corr] = cl
	c.mu.queue = append(c.mu.queue, cl)
}

// control queues a frame that expects no reply (a PONG) for the current
// connection only.
func (c *Client) control(buf []byte) {
	c.mu.Lock()
	c.mu.queue = append(c.mu.queue, &call{buf: buf, noReply: true})
	c.mu.Unlock()
	c.wakeWriter()
}

// abandon detaches a call its caller no longer waits for. It returns false
// if the call has already left the pending set (its fn runs or ran).
func (c *Client) abandon(cl *call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.pending[cl.corr] != cl {
		return false
	}
	if cl.state == stateQueued {
		c.dropLocked(cl)
		cl.state = stateCancelled
		return true
	}
	cl.abandoned = true
	return true
}

// complete ends the pending call corr with a reply or an error. Unknown
// correlation ids (abandoned calls dropped at a reconnect) are ignored.
func (c *Client) complete(corr uint64, f frame.Frame, err error) {
	c.mu.Lock()
	cl, ok := c.mu.pending[corr]
	if !ok {
		c.mu.Unlock()
		return
	}
	c.dropLocked(cl)
	c.mu.Unlock()
	cl.fn(f, err)
}

// dropLocked removes cl from the pending set and gives back its credit.
func (c *Client) dropLocked(cl *call) {
	delete(c.mu.pending, cl.corr)
	if cl.free {
		return
	}
	c.mu.credits.releaseLocked(1)
	if cl.state == stateWritten {
		c.mu.wire--
	}
}

// wakeWriter tells the current connection's writer to look for work.
func (c *Client) wakeWriter() {
	if cn := c.cur.Load(); cn != nil {
		cn.signal()
	}
}

// failAll ends every pending call with err, and makes the Client and its
// publishers answer any further request with ErrClosed (wrapping err).
func (c *Client) failAll(err error) {
	c.mu.Lock()
	if c.mu.err == nil {
		c.mu.err = withCause(ErrClosed, err)
	}
	final := c.mu.err
	calls := make([]*call, 0, len(c.mu.pending))
	for _, cl := range c.mu.pending {
		calls = append(calls, cl)
	}
	clear(c.mu.pending)
	clear(c.mu.queue)
	c.mu.queue = c.mu.queue[:0]
	c.mu.credits.releaseLocked(c.mu.credits.used)
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
