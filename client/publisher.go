package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Defaults of PublisherOptions.
const (
	// DefaultWindow is how many messages a Publisher keeps unacknowledged.
	DefaultWindow = 1000
	// DefaultMaxBatch is the least of the default MaxBatch, which is
	// Window/MaxInFlight when that is larger (at most MaxDefaultBatch).
	DefaultMaxBatch = 256
	// MaxDefaultBatch bounds the default MaxBatch.
	MaxDefaultBatch = 4096
	// DefaultMaxInFlight is how many of a Publisher's frames may await
	// their PUBLISH_ACK at once.
	DefaultMaxInFlight = 4
)

// Bounds of a Publisher's recycled batches: the buffer bytes they may
// keep in all, and the messages a new buffer is sized for; and the largest
// sealing buffer it keeps between messages.
const (
	maxFreeBytes = 8 << 20
	initialBatch = 64
	maxSealBuf   = 64 << 10
)

// PublisherOptions configures a Publisher. Zero fields mean the defaults.
// It is a plain value, not safe for concurrent mutation.
type PublisherOptions struct {
	// Window is the most messages published and not yet acknowledged
	// (default DefaultWindow); Publish blocks while it is reached.
	Window int
	// MaxBatch is the most messages in one PUBLISH frame; a frame also
	// never exceeds the max frame. The default lets MaxInFlight frames
	// carry the whole window: Window/MaxInFlight rounded up, within
	// DefaultMaxBatch..MaxDefaultBatch (256 for the default window). Larger
	// frames cost the node less per message (measured with a window of
	// 4000: 256 messages a frame 287 k msg/s, 1024 a frame 427 k).
	MaxBatch int
	// Linger is how long a batch may wait for more messages before it is
	// sent. 0 (the default) sends a batch as soon as the connection's
	// writer is idle: under load, messages published while a frame is
	// being written accumulate in the next one.
	Linger time.Duration
	// MaxInFlight is the most frames written and not yet acknowledged
	// (default DefaultMaxInFlight). While that many are out, new messages
	// gather in the open batch: under moderate load this makes a few
	// large frames instead of many tiny ones, each of which would cost
	// the node a request (and often an fsync) of its own.
	MaxInFlight int
}

// EnsureDefaults replaces zero fields by their defaults.
func (o *PublisherOptions) EnsureDefaults() {
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.MaxBatch == 0 && o.Window > 0 && o.MaxInFlight > 0 {
		o.MaxBatch = min(max(DefaultMaxBatch, (o.Window+o.MaxInFlight-1)/o.MaxInFlight), MaxDefaultBatch)
	}
}

// Validate reports every invalid field at once.
func (o PublisherOptions) Validate() error {
	var errs []error
	if o.Window < 1 {
		errs = append(errs, fmt.Errorf("client: publisher window %d must be at least 1", o.Window))
	}
	if o.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("client: publisher max batch %d must be at least 1", o.MaxBatch))
	}
	if o.Linger < 0 {
		errs = append(errs, errors.New("client: publisher linger must not be negative"))
	}
	if o.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("client: publisher max in-flight frames %d must be at least 1", o.MaxInFlight))
	}
	return errors.Join(errs...)
}

// Publisher publishes to one destination asynchronously, in batches. It is
// safe for concurrent use.
//
// Publish encodes the message straight into the open batch (a PUBLISH
// frame under construction). The Client's writer takes the batch when it
// has nothing else to write and a credit is free (or when the batch is
// full, or its Linger ran out), so batching adapts to load: while one frame
// is on the wire or waiting for its PUBLISH_ACK, the next one fills up.
// Window bounds the messages in flight, which bounds memory; the server's
// credits bound the frames. A Publisher owns no goroutine (only a timer
// when Linger is set); its batches are sent again, byte for byte, after a
// reconnect, like every publish.
type Publisher struct {
	c        *Client
	dest     []byte
	name     string // dest, for hooks and errors without a conversion each time
	op       string
	overhead int
	opts     PublisherOptions
	part     int32                // the partition of dest
	timer    *time.Timer          // linger; nil when Linger is 0
	hint     atomic.Bool          // a batch is ready to take; written under mu
	link     atomic.Pointer[link] // the link to dest's leader, whose writer takes the batches; written under Client.mu

	mu struct {
		sync.Mutex
		cur    *pubBatch   // open batch, nil when none
		ready  []*pubBatch // closed, waiting for the writer
		free   []*pubBatch // recycled
		freeB  int         // buffer capacity held by free
		window gate        // messages accepted and not resolved
		err    error       // set when closed or failed: Publish returns it
		sealed []byte      // the sealed payload being appended (with a keyring)
		flying int         // batches taken by the writer and not yet resolved
		// ids draws the message ids: a ChaCha8 stream keyed from the
		// Client's (as unpredictable), with no lock of its own.
		ids *mrand.ChaCha8

		// Callbacks of resolved messages, in publish order, waiting for
		// the callback goroutine (runCallbacks), which runs while cbRun.
		// cbSpare is the slice it last drained, kept for reuse.
		cbq, cbSpare []cbItem
		cbRun        bool
		// cbRoom is closed when the callback goroutine takes the queue:
		// Publish waits on it while Window callbacks are queued.
		cbRoom chan struct{}
		// inflight and inflightBytes count the messages accepted and not
		// resolved, for Client.Stats: under the lock Publish holds anyway,
		// so the publish path pays no atomic for them.
		inflight, inflightBytes int
		// failed counts the messages published without a callback that
		// failed since Flush last reported them; failErr is the first.
		failed  int
		failErr error
	}
	// onErr passes a failed message without a callback to the Client's
	// PublishErrorHandler; nil without one.
	onErr func(PublishResult)
}

// cbItem is one callback to run with its message's result.
type cbItem struct {
	done func(PublishResult)
	r    PublishResult
	at   int64 // when the message was published (unix ns), for HookPublishAck; 0 without
}

// pubBatch is one PUBLISH frame of a Publisher and the callbacks of its
// messages. It is guarded by its Publisher's mutex until closed; then it
// belongs to the Client as a pending call until its reply.
type pubBatch struct {
	call
	p     *Publisher
	ids   [][16]byte
	dones []func(PublishResult)
	ats   []int64 // when each message was published (unix ns); only with a HookPublishAck
	taken bool    // counted in the Publisher's flying; guarded by its mutex
	// opened is when the batch took its first message (unix ns): a batch
	// that waits with no leader to send it to fails RequestTimeout after
	// it (sweepUnattached).
	opened int64
}

// NewPublisher returns a Publisher to dest. It fails when dest is not a
// valid destination (empty, longer than frame.MaxDestinationLen bytes, or
// bytes other than [A-Za-z0-9._-], the node's rules: CodeBadDestination),
// when opts are invalid, or when the Client is closed or draining.
func (c *Client) NewPublisher(dest string, opts PublisherOptions) (*Publisher, error) {
	opts.EnsureDefaults()
	op := "publish to " + dest
	if err := errors.Join(checkName(dest, frame.CodeBadDestination), opts.Validate()); err != nil {
		return nil, wrapOp(op, err)
	}
	p := &Publisher{c: c, dest: []byte(dest), name: dest, op: op, overhead: publishOverhead(dest), opts: opts,
		part: c.partitionOf(dest)}
	p.mu.window.limit = opts.Window
	p.mu.ids = c.newIDSource()
	if h := c.opts.PublishErrorHandler; h != nil {
		p.onErr = func(r PublishResult) { h(r.Err) }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.err != nil {
		return nil, wrapOp(op, c.mu.err)
	}
	if opts.Linger > 0 {
		p.timer = time.AfterFunc(time.Hour, p.lingerFired)
		p.timer.Stop()
	}
	c.mu.pubs = append(c.mu.pubs, p)
	c.placePublisherLocked(p)
	return p, nil
}

// wake wakes the writer of the link the Publisher's batches go to.
func (p *Publisher) wake() {
	if l := p.link.Load(); l != nil {
		l.signal()
	}
}

// Publish adds payload to the open batch and returns; done, if not nil,
// is called later with the message's result, and at the latest when the
// Publisher or the Client closes. payload is copied (sealed first when
// the Client has a keyring) before Publish returns. Publish blocks only
// while Window messages are unacknowledged, and fails if ctx ends
// meanwhile, if the message is larger than a frame can carry (done is
// then not called), or when the Publisher is closed.
//
// done runs on the Publisher's callback goroutine, one callback at a
// time, in publish order, after the message's window slot was released:
// it may publish again (also through this Publisher), Fetch, Ack or call
// anything else of the Client. A slow callback delays only the callbacks
// after it, never the Client. It must not call Flush or Close of its own
// Publisher, which wait for every callback, its own included. Without a
// done, a failed message goes to Options.PublishErrorHandler and is
// reported by the next Flush or Close (ErrPublishFailed); PublishAsync
// returns a future instead.
func (p *Publisher) Publish(ctx context.Context, payload []byte, done func(PublishResult)) error {
	return p.PublishMsg(ctx, Message{Payload: payload}, done)
}

// PublishMsg is Publish for a message with headers. Headers that break
// the rules or the node's bounds fail it at once (a *frame.Error of code
// BAD_HEADERS; done is then not called).
func (p *Publisher) PublishMsg(ctx context.Context, m Message, done func(PublishResult)) error {
	if p.c.hooks.publishes() {
		m = p.c.hooks.onPublish(p.name, m)
	}
	hdr, err := p.c.encodeHeaders(m.Headers)
	if err != nil {
		return wrapOp(p.op, err)
	}
	payload := m.Payload
	extra := p.c.sealOverhead()
	size := frame.MessageHeaderSize + extra + len(hdr) + len(payload)
	maxFrame := p.c.MaxFrame()
	if size > maxMessage(p.name, maxFrame) {
		return wrapOp(p.op, errTooLarge(size, maxFrame, extra))
	}
	p.mu.Lock()
	exempt := 0 // 1: a callback publishes (not held by the queue's bound); -1: not; 0: not asked yet
	for {
		if err := p.mu.err; err != nil {
			p.mu.Unlock()
			return err
		}
		if len(p.mu.cbq) >= p.opts.Window && exempt == 0 {
			exempt = -1
			if p.c.onCallbackGoroutine() {
				exempt = 1
			}
		}
		if len(p.mu.cbq) >= p.opts.Window && exempt < 0 {
			// The callbacks lag a whole window behind: wait for them
			// (backpressure), unless this is a callback publishing,
			// which the callbacks would wait for in turn.
			ch := p.cbRoomLocked()
			p.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return wrapOp(p.op, context.Cause(ctx))
			}
			p.mu.Lock()
			continue
		}
		if p.mu.window.tryLocked() {
			break
		}
		ch := p.mu.window.waitLocked()
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return wrapOp(p.op, context.Cause(ctx))
		}
		p.mu.Lock()
	}
	// The Client's bound on the session's unacknowledged messages, over
	// every Publisher and Publish (Client.inflight, whose mutex is taken
	// inside p.mu, never the other way round). Only without a free unit
	// does Publish wait for one, without p.mu.
	if !p.c.tryInflight() {
		p.mu.Unlock()
		if err := p.c.takeInflight(ctx, 1); err != nil {
			p.mu.Lock()
			p.mu.window.releaseLocked(1)
			p.mu.Unlock()
			return wrapOp(p.op, err)
		}
		p.mu.Lock()
	}
	wake, err := p.appendLocked(hdr, payload, done, size, maxFrame)
	if err != nil {
		p.mu.window.releaseLocked(1)
		p.c.releaseInflight(1)
	} else {
		p.mu.inflight++
		p.mu.inflightBytes += size
	}
	p.mu.Unlock()
	if wake {
		p.wake()
	}
	return wrapOp(p.op, err)
}

// newIDLocked returns a random message id (see Client.newID).
func (p *Publisher) newIDLocked() (id [16]byte) {
	binary.LittleEndian.PutUint64(id[:8], p.mu.ids.Uint64())
	binary.LittleEndian.PutUint64(id[8:], p.mu.ids.Uint64())
	return id
}

// appendLocked encodes one message, with its header block hdr (nil for
// none), into the open batch (sealing its payload first when the Client
// has a keyring), closing batches that are
// full. It reports whether the writer must be woken; on error nothing was
// added.
func (p *Publisher) appendLocked(hdr, payload []byte, done func(PublishResult), size, maxFrame int) (bool, error) {
	id := p.newIDLocked()
	m := frame.Message{ID: id, Timestamp: p.c.now().UnixNano(), Producer: p.c.producer.Load(), Headers: hdr, Payload: payload}
	sealed, err := p.c.sealMessage(p.mu.sealed, p.dest, &m)
	if cap(sealed) <= maxSealBuf {
		p.mu.sealed = sealed
	}
	if err != nil {
		return false, err
	}
	b := p.mu.cur
	if b != nil && (len(b.ids) >= p.opts.MaxBatch || len(b.buf)+size > maxFrame) {
		p.closeBatchLocked()
		b = nil
	}
	if b == nil {
		b = p.newBatchLocked(size, maxFrame)
		b.opened = p.c.now().UnixNano()
		p.mu.cur = b
		if p.timer != nil {
			p.timer.Reset(p.opts.Linger)
		}
	}
	b.buf = frame.AppendMessage(b.buf, m)
	b.ids = append(b.ids, id)
	b.dones = append(b.dones, done)
	if p.c.hooks.acks() {
		b.ats = append(b.ats, m.Timestamp)
	}
	full := len(b.ids) >= p.opts.MaxBatch
	if full {
		p.closeBatchLocked()
	}
	if p.timer == nil || full || len(p.mu.ready) > 0 {
		return !p.hint.Swap(true), nil
	}
	return false, nil
}

// newBatchLocked returns an empty batch with its frame started, recycled
// if one is free, else with room for a few messages of size bytes.
func (p *Publisher) newBatchLocked(size, maxFrame int) *pubBatch {
	var b *pubBatch
	if n := len(p.mu.free); n > 0 {
		b = p.mu.free[n-1]
		p.mu.free[n-1] = nil
		p.mu.free = p.mu.free[:n-1]
		p.mu.freeB -= cap(b.buf)
	} else {
		b = &pubBatch{p: p}
		b.resend = true
		b.fn = b.complete
		b.buf = make([]byte, 0, min(maxFrame, p.overhead+min(p.opts.MaxBatch, initialBatch)*size))
	}
	b.buf = frame.StartPublish(b.buf[:0], 0, p.dest)
	frame.SetFlags(b.buf, 0, p.c.publishFlags())
	return b
}

// closeBatchLocked finishes the open batch's frame and queues it for the writer.
func (p *Publisher) closeBatchLocked() {
	b := p.mu.cur
	p.mu.cur = nil
	frame.FinishPublish(b.buf, 0, uint32(len(b.ids)))
	p.mu.ready = append(p.mu.ready, b)
}

// takeLocked appends up to max batches ready to be written to out; the
// caller holds the Client's mutex. Without Linger the open batch counts as
// ready: the writer is idle, so it goes now.
func (p *Publisher) takeLocked(out []*call, max int) []*call {
	p.mu.Lock()
	defer p.mu.Unlock()
	room := p.opts.MaxInFlight - p.mu.flying
	if room <= 0 {
		// finish sets the hint again when a frame is acknowledged.
		p.hint.Store(false)
		return out
	}
	if p.timer == nil && p.mu.cur != nil && len(p.mu.ready) < room {
		p.closeBatchLocked()
	}
	n := min(max, room, len(p.mu.ready))
	for _, b := range p.mu.ready[:n] {
		b.taken = true
		b.msgs = int32(len(b.ids))
		out = append(out, &b.call)
	}
	p.mu.flying += n
	rest := copy(p.mu.ready, p.mu.ready[n:])
	clear(p.mu.ready[rest:])
	p.mu.ready = p.mu.ready[:rest]
	p.hint.Store(rest > 0 && n < room)
	return out
}

// lingerFired closes the open batch when its Linger ran out.
func (p *Publisher) lingerFired() {
	p.mu.Lock()
	wake := false
	if p.mu.cur != nil && p.mu.err == nil {
		p.closeBatchLocked()
		wake = !p.hint.Swap(true)
	}
	p.mu.Unlock()
	if wake {
		p.wake()
	}
}

// complete resolves every message of the batch from its PUBLISH_ACK (or
// the error that ended it): it frees the window and queues the callbacks
// for the callback goroutine. It runs on the reader goroutine (or on the
// goroutine that fails the Publisher), so it never runs a callback
// itself: a callback that waits for the reader would freeze the Client.
func (b *pubBatch) complete(f frame.Frame, err error) {
	p := b.p
	// A batch that timed out may still be in the writer's hands: leave
	// its buffer to the garbage collector.
	recycle := !errors.Is(err, ErrTimeout)
	var pa frame.PublishAck
	if err == nil {
		pa, err = decodePublishAck(f, len(b.ids))
	}
	if err != nil {
		err = wrapOp(p.op, err)
	}
	p.finish(b, recycle, pa, err)
}

// decodePublishAck decodes the reply to a PUBLISH frame of n messages.
func decodePublishAck(f frame.Frame, n int) (frame.PublishAck, error) {
	if f.Type != frame.TypePublishAck {
		return frame.PublishAck{}, fmt.Errorf("%w: PUBLISH answered by %s", ErrProtocol, f.Type)
	}
	pa, err := frame.DecodePublishAck(f.Body)
	if err != nil {
		return pa, fmt.Errorf("%w: bad PUBLISH_ACK: %w", ErrProtocol, err)
	}
	if pa.Len() != n {
		return pa, fmt.Errorf("%w: PUBLISH_ACK has %d entries for %d messages", ErrProtocol, pa.Len(), n)
	}
	return pa, nil
}

// finish queues the results of a resolved batch (pa's entries, or err
// for every message) for the callback goroutine, frees the window and
// may recycle the batch.
func (p *Publisher) finish(b *pubBatch, recycle bool, pa frame.PublishAck, err error) {
	n := len(b.ids)
	p.c.releaseInflight(n)
	ok, dup := 0, 0
	p.mu.Lock()
	queued := len(p.mu.cbq)
	for i, id := range b.ids {
		r := PublishResult{ID: id, Err: err}
		if err == nil {
			if e := pa.Entry(i); e.Code != frame.CodeOK {
				r.Err = wrapOp(p.op, p.c.entryError(e.Code))
			} else {
				r.Seq, r.Duplicate = e.Seq, e.Duplicate()
				ok++
				if r.Duplicate {
					dup++
				}
			}
		}
		done := b.dones[i]
		if done == nil && r.Err != nil {
			p.mu.failed++
			if p.mu.failErr == nil {
				p.mu.failErr = r.Err
			}
			done = p.onErr
		}
		if i < len(b.ats) {
			p.mu.cbq = append(p.mu.cbq, cbItem{done: done, r: r, at: b.ats[i]})
		} else if done != nil {
			p.mu.cbq = append(p.mu.cbq, cbItem{done: done, r: r})
		}
	}
	size := len(b.buf) - p.overhead
	p.mu.inflight -= n
	p.mu.inflightBytes -= size
	p.c.stats.resolved(ok, n-ok, dup)
	start := len(p.mu.cbq) > queued && !p.mu.cbRun
	p.mu.cbRun = p.mu.cbRun || start
	clear(b.dones)
	b.ids, b.dones, b.ats = b.ids[:0], b.dones[:0], b.ats[:0]
	b.state, b.abandoned, b.written, b.corr, b.deadline = stateQueued, false, false, 0, 0
	p.mu.window.releaseLocked(n)
	wake := false
	if b.taken {
		b.taken = false
		p.mu.flying--
		if p.mu.cur != nil || len(p.mu.ready) > 0 {
			wake = !p.hint.Swap(true)
		}
	}
	if recycle && p.mu.freeB+cap(b.buf) <= maxFreeBytes {
		p.mu.free = append(p.mu.free, b)
		p.mu.freeB += cap(b.buf)
	}
	p.mu.Unlock()
	if start {
		go p.runCallbacks() // ends when the queue is empty; Flush and Close wait for that
	}
	if wake {
		p.wake()
	}
}

// runCallbacks runs the queued callbacks in order until none is left.
// At most one runs per Publisher (cbRun); it exits when idle, so an idle
// Publisher owns no goroutine.
func (p *Publisher) runCallbacks() {
	defer p.c.callbackGoroutine()()
	p.mu.Lock()
	for len(p.mu.cbq) > 0 {
		q := p.mu.cbq
		p.mu.cbq, p.mu.cbSpare = p.mu.cbSpare[:0], nil
		p.cbRoomWakeLocked()
		p.mu.Unlock()
		for _, it := range q {
			if it.at != 0 {
				p.c.hooks.onPublishAck(p.name, it.r, time.Duration(p.c.now().UnixNano()-it.at))
			}
			if it.done != nil {
				it.done(it.r)
			}
		}
		clear(q)
		p.mu.Lock()
		p.mu.cbSpare = q[:0]
	}
	p.mu.cbRun = false
	p.mu.window.wakeLocked() // Flush waits for the callbacks too
	p.mu.Unlock()
}

// takeFailuresLocked returns the failures of messages published without
// a callback since the last call (nil if none) and forgets them.
func (p *Publisher) takeFailuresLocked() error {
	if p.mu.failed == 0 {
		return nil
	}
	err := &PublishError{Failed: p.mu.failed, First: p.mu.failErr}
	p.mu.failed, p.mu.failErr = 0, nil
	return err
}

// Flush sends the open batch now and waits until every message published
// so far is resolved and its callback has run, or ctx ends. It returns a
// *PublishError (errors.Is ErrPublishFailed) when messages published
// without a callback failed since the last Flush, each reported once;
// else the Publisher's error once it is closed.
func (p *Publisher) Flush(ctx context.Context) error {
	p.mu.Lock()
	for {
		wake := false
		if p.mu.cur != nil && p.mu.err == nil {
			p.closeBatchLocked()
			wake = !p.hint.Swap(true)
		}
		if p.mu.window.used == 0 && !p.mu.cbRun {
			err := p.takeFailuresLocked()
			if err == nil {
				err = p.mu.err
			}
			p.mu.Unlock()
			return err
		}
		ch := p.mu.window.waitLocked()
		p.mu.Unlock()
		if wake {
			p.wake()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return wrapOp("flush "+p.name, context.Cause(ctx))
		}
		p.mu.Lock()
	}
}

// Close flushes (see Flush), then stops the Publisher: further Publish
// calls fail with ErrClosed. If ctx ends first, the messages not yet sent
// fail with ErrClosed; those already sent keep their callbacks, which run
// when their acks arrive. Like Flush, it reports the failed messages that
// had no callback (ErrPublishFailed), those it failed itself included.
// Close may be called more than once.
func (p *Publisher) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	if errors.Is(err, ErrClosed) && !errors.Is(err, ErrPublishFailed) {
		err = nil
	}
	p.fail(ErrClosed)
	p.c.removePublisher(p)
	p.mu.Lock()
	late := p.takeFailuresLocked()
	p.mu.Unlock()
	return errors.Join(err, late)
}

// fail stops the Publisher with err and fails its unsent messages.
func (p *Publisher) fail(err error) {
	p.mu.Lock()
	if p.mu.err == nil {
		p.mu.err = wrapOp(p.op, err)
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	unsent := p.mu.ready
	if p.mu.cur != nil {
		p.closeBatchLocked()
		unsent = p.mu.ready
	}
	p.mu.ready = nil
	p.hint.Store(false)
	p.mu.Unlock()
	for _, b := range unsent {
		b.complete(frame.Frame{}, err)
	}
}

// removePublisher stops polling p.
func (c *Client) removePublisher(p *Publisher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.mu.pubs, p); i >= 0 {
		c.mu.pubs = slices.Delete(c.mu.pubs, i, i+1)
	}
	if l := p.link.Load(); l != nil {
		if i := slices.Index(l.pubs, p); i >= 0 {
			l.pubs = slices.Delete(l.pubs, i, i+1)
		}
		p.link.Store(nil)
	}
}

// waitingLocked reports whether p holds messages not yet sent; the
// caller holds the Client's mutex.
func (p *Publisher) waitingLocked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.cur != nil || len(p.mu.ready) > 0
}

// expireUnsentLocked closes the open batch and takes out every batch not
// yet sent that opened at or before opened (unix ns), for the caller to
// fail; the caller holds the Client's mutex, and p has no link.
func (p *Publisher) expireUnsentLocked(opened int64, out []*pubBatch) []*pubBatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.mu.cur; b != nil && b.opened <= opened {
		p.closeBatchLocked()
	}
	keep := p.mu.ready[:0]
	for _, b := range p.mu.ready {
		if b.opened <= opened {
			out = append(out, b)
		} else {
			keep = append(keep, b)
		}
	}
	clear(p.mu.ready[len(keep):])
	p.mu.ready = keep
	return out
}
