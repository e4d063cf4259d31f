package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Defaults of ConsumeOptions.
const (
	// DefaultConsumeBatch is how many messages one fetch of Consume asks for.
	DefaultConsumeBatch = 100
	// DefaultConsumeWait is how long one fetch of Consume waits for messages.
	DefaultConsumeWait = 5 * time.Second
	// DefaultConsumeAckWindow is how many acks (or nacks) of handled
	// batches Consume lets travel unconfirmed while it fetches on.
	DefaultConsumeAckWindow = 4
)

// ConsumeOptions configures Consume. Zero fields mean the defaults. It is
// a plain value, not safe for concurrent mutation.
type ConsumeOptions struct {
	// Batch is the most messages per fetch (default DefaultConsumeBatch).
	Batch int
	// Wait is the long-poll wait of each fetch (default
	// DefaultConsumeWait).
	Wait time.Duration
	// NackDelay is how long a batch the handler failed waits before it is
	// delivered again (default 0: at once).
	NackDelay time.Duration
	// AckWindow is how many handled batches may wait for their ack or
	// nack to be confirmed; Consume fetches the next batch only while
	// fewer do (default DefaultConsumeAckWindow). With 1 each batch is
	// settled before the next fetch, so a nacked batch is fetched again
	// before the ones after it. More lets the next fetches overlap the
	// acks' fsync, which is most of a batch's time with fsync always.
	AckWindow int
}

// EnsureDefaults replaces zero fields by their defaults.
func (o *ConsumeOptions) EnsureDefaults() {
	if o.Batch == 0 {
		o.Batch = DefaultConsumeBatch
	}
	if o.Wait == 0 {
		o.Wait = DefaultConsumeWait
	}
	if o.AckWindow == 0 {
		o.AckWindow = DefaultConsumeAckWindow
	}
}

// Validate reports every invalid field at once.
func (o ConsumeOptions) Validate() error {
	var errs []error
	if o.Batch < 1 {
		errs = append(errs, fmt.Errorf("client: consume batch %d must be at least 1", o.Batch))
	}
	if o.Wait < 0 {
		errs = append(errs, errors.New("client: consume wait must not be negative"))
	}
	if o.NackDelay < 0 {
		errs = append(errs, errors.New("client: consume nack delay must not be negative"))
	}
	if o.AckWindow < 1 {
		errs = append(errs, fmt.Errorf("client: consume ack window %d must be at least 1", o.AckWindow))
	}
	return errors.Join(errs...)
}

// Consume runs the consumer loop on the calling goroutine: Fetch a batch
// of dest for group, hand it to handle, then settle the batch.
//
// handle may settle each delivery itself: d.Ack, d.Nak(delay) and
// d.Term(reason) record the outcome of that delivery (they return at once
// and send nothing), and d.InProgress pushes its ack deadline out at once.
// When handle returns, Consume sends the recorded outcomes together (one
// ACK, one NACK per delay, one TERM per reason) and settles the rest as a
// batch: acked (a confirmed ack) if handle returned nil, nacked after
// opts.NackDelay if it returned an error. So one bad message does not drag
// its siblings along: Term it (or Nak it) and return nil, and only it is
// retried or dead-lettered. A delivery settled after handle returned (by a
// goroutine it started) gets ErrSettled. Up to opts.AckWindow of those
// settlements travel
// while Consume fetches and handles the next batches; before it returns,
// every one of them is confirmed (or has failed). Retryable fetch errors
// (see IsRetryable) are retried after a pause. Consume returns nil when
// ctx ends, or the first error it cannot get past (the Client closed or
// gave up, an ack that failed).
//
// Deliveries with Err set (a sealed payload that does not open, see
// Delivery.Err) are not handed to handle: each is logged at warning level
// on Options.Logger and left unacknowledged, so the server delivers it
// again after its ack timeout and, after max_deliver attempts, moves it to
// the dead-letter destination. Except when the cause is the Client's own
// keyring (ErrKeyringMismatch): then the whole batch is given back with
// Release, its attempts not counted, and Consume returns that Delivery.Err,
// so a misconfigured consumer never dead-letters messages others can open.
//
// Client.Drain stops the loop: it settles what it holds and returns nil.
//
// handle sees each message at least once; a message whose ack was
// confirmed is never delivered to the group again, but one processed by
// handle whose ack did not get through is (after the server's ack
// timeout), so handle must be idempotent.
func (c *Client) Consume(ctx context.Context, dest, group string, opts ConsumeOptions,
	handle func(context.Context, []Delivery) error) error {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return err
	}
	// A failed ack or nack ends the loop at once, also a long poll; so
	// does Drain (errDraining).
	fctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	reg := &consumeReg{stop: stop}
	if !c.consumeStarted(reg) {
		return nil
	}
	defer c.consumeEnded(reg)
	settles := newSettler(opts.AckWindow, stop)
	pause := c.opts.ReconnectWait
	for ctx.Err() == nil {
		if err := settles.room(); err != nil {
			return settles.finish(err)
		}
		ds, err := c.Fetch(fctx, dest, group, opts.Batch, opts.Wait)
		switch {
		case ctx.Err() != nil:
			return settles.wait()
		case errors.Is(context.Cause(fctx), errDraining):
			return settles.wait()
		case fctx.Err() != nil: // a settle failed
			return settles.finish(nil)
		case err != nil && IsRetryable(err):
			c.log.Info("swarmmq client: fetch failed, retrying", "dest", dest, "group", group, "err", err)
			if !sleepCtx(fctx, pause) {
				return settles.finish(nil)
			}
			pause = min(2*pause, c.opts.MaxReconnectWait)
			continue
		case err != nil:
			return settles.finish(err)
		}
		pause = c.opts.ReconnectWait
		if err := c.releaseMismatch(ctx, dest, group, ds); err != nil {
			return settles.finish(err)
		}
		if ds = c.withoutErr(ds); len(ds) == 0 {
			continue
		}
		ds[0].b.mu.Lock()
		ds[0].b.deferred = true
		ds[0].b.mu.Unlock()
		herr := handle(ctx, ds)
		plan := planSettle(ds, herr, opts.NackDelay)
		if herr != nil {
			c.log.Info("swarmmq client: handler failed, nacking the deliveries it did not settle", "dest", dest,
				"group", group, "n", plan.unsettled, "err", herr)
		}
		if err := settles.start(func() error { return c.settle(ctx, dest, group, plan) }); err != nil {
			return settles.finish(err)
		}
	}
	return settles.wait()
}

// settler runs the acks and nacks of Consume, at most window at a time,
// each on its own goroutine, and keeps the first error. Used by Consume's
// goroutine only (the settling goroutines report on done).
type settler struct {
	window int
	failed func(error) // called by a settle that fails, on its goroutine
	done   chan error  // each finished settle's result
	n      int         // settles on their way
	err    error       // the first that failed
}

func newSettler(window int, failed func(error)) *settler {
	return &settler{window: window, failed: failed, done: make(chan error, window+1)}
}

// start runs settle on its own goroutine; it returns the first error seen
// so far instead of starting when one failed.
func (s *settler) start(settle func() error) error {
	if s.err != nil {
		return s.err
	}
	s.n++
	go func() {
		err := settle()
		if err != nil {
			s.failed(err)
		}
		s.done <- err
	}()
	return nil
}

// room collects the results that have arrived, waits until fewer than
// window settles are on their way, and returns the first error.
func (s *settler) room() error {
	for s.err == nil {
		select {
		case err := <-s.done:
			s.collect(err)
			continue
		default:
		}
		if s.n < s.window {
			break
		}
		s.collect(<-s.done)
	}
	return s.err
}

// wait waits for every settle on its way and returns the first error.
func (s *settler) wait() error {
	for s.n > 0 {
		s.collect(<-s.done)
	}
	return s.err
}

// finish waits for every settle on its way and returns err together with
// the first settle error (either may be nil).
func (s *settler) finish(err error) error {
	werr := s.wait()
	switch {
	case werr == nil || errors.Is(err, werr):
		return err
	case err == nil:
		return werr
	default:
		return errors.Join(err, werr)
	}
}

func (s *settler) collect(err error) {
	s.n--
	if s.err == nil {
		s.err = err
	}
}

// releaseMismatch returns nil if no delivery of ds has an
// ErrKeyringMismatch. Otherwise it gives every delivery of ds back with
// Release (none was handed over), even when ctx has just ended, and
// returns the first such Delivery.Err (with the Release error, if any).
func (c *Client) releaseMismatch(ctx context.Context, dest, group string, ds []Delivery) error {
	i := slices.IndexFunc(ds, func(d Delivery) bool { return errors.Is(d.Err, ErrKeyringMismatch) })
	if i < 0 {
		return nil
	}
	seqs := make([]uint64, len(ds))
	for j, d := range ds {
		seqs[j] = d.Seq
	}
	c.log.Error("swarmmq client: cannot open messages with this consumer's keyring; giving the batch back, its attempts not counted",
		"dest", dest, "group", group, "n", len(ds), "err", ds[i].Err)
	if err := c.Release(context.WithoutCancel(ctx), dest, group, 0, seqs...); err != nil {
		return errors.Join(ds[i].Err, err)
	}
	return ds[i].Err
}

// withoutErr logs the deliveries with Err and returns the others, in
// place.
func (c *Client) withoutErr(ds []Delivery) []Delivery {
	ok := ds[:0]
	for _, d := range ds {
		if d.Err != nil {
			c.log.Warn("swarmmq client: delivery withheld, not acknowledged", "dest", d.Destination,
				"group", d.Group, "seq", d.Seq, "attempt", d.Attempt, "err", d.Err)
			continue
		}
		ok = append(ok, d)
	}
	return ok
}

// settlePlan is how a handled batch is settled: the seqs to ack, to nack
// (by delay, in the order of their first delivery) and to terminate (by
// reason).
type settlePlan struct {
	acks      []uint64
	nakDelays []time.Duration
	naks      map[time.Duration][]uint64
	reasons   []string
	terms     map[string][]uint64
	unsettled int // deliveries the handler left to the batch outcome
}

// planSettle closes the batch of ds (which Consume handed to its handler,
// all from one Fetch) and returns its settlement: each delivery's own
// outcome, the others acked if herr is nil, else nacked after delay.
func planSettle(ds []Delivery, herr error, delay time.Duration) settlePlan {
	p := settlePlan{naks: map[time.Duration][]uint64{}, terms: map[string][]uint64{}}
	nak := func(d time.Duration, seq uint64) {
		if _, ok := p.naks[d]; !ok {
			p.nakDelays = append(p.nakDelays, d)
		}
		p.naks[d] = append(p.naks[d], seq)
	}
	b := ds[0].b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, d := range ds {
		switch s := b.at(d.i); s.out {
		case outAck:
			p.acks = append(p.acks, d.Seq)
		case outNak:
			nak(s.delay, d.Seq)
		case outTerm:
			if _, ok := p.terms[s.reason]; !ok {
				p.reasons = append(p.reasons, s.reason)
			}
			p.terms[s.reason] = append(p.terms[s.reason], d.Seq)
		default:
			p.unsettled++
			if herr == nil {
				p.acks = append(p.acks, d.Seq)
			} else {
				nak(delay, d.Seq)
			}
		}
	}
	return p
}

// settle sends a handled batch's settlement. It does so even when ctx has
// just ended, so that processed messages are not delivered again.
func (c *Client) settle(ctx context.Context, dest, group string, p settlePlan) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, r := range p.reasons {
		errs = append(errs, c.Term(ctx, dest, group, r, p.terms[r]...))
	}
	errs = append(errs, c.Ack(ctx, dest, group, p.acks...))
	for _, d := range p.nakDelays {
		errs = append(errs, c.Nack(ctx, dest, group, d, p.naks[d]...))
	}
	return errors.Join(errs...)
}

// sleepCtx waits for d; it returns false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
