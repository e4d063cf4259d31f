package client

import (
	"context"
	"errors"
	"slices"
)

// errDraining stops Consume loops when the Client drains.
var errDraining = errors.New("swarmmq/client: draining")

// drainState tracks the Consume loops for Drain. Guarded by Client.mu.
type drainState struct {
	started bool
	stops   map[*consumeReg]struct{} // running Consume loops
	idle    chan struct{}            // closed when the last loop ends while draining
}

// consumeReg is one running Consume loop: stop ends its fetching.
type consumeReg struct {
	stop context.CancelCauseFunc
}

// consumeStarted registers a Consume loop; it returns false when the
// Client drains: the loop must not start (nor when it is closed: its
// first Fetch says so).
func (c *Client) consumeStarted(r *consumeReg) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.drain.started {
		return false
	}
	if c.mu.drain.stops == nil {
		c.mu.drain.stops = map[*consumeReg]struct{}{}
	}
	c.mu.drain.stops[r] = struct{}{}
	return true
}

// consumeEnded unregisters a Consume loop.
func (c *Client) consumeEnded(r *consumeReg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.mu.drain.stops, r)
	if d := &c.mu.drain; d.started && len(d.stops) == 0 && d.idle != nil {
		close(d.idle)
		d.idle = nil
	}
}

// publishersLocked returns the open publishers.
func (c *Client) publishersLocked() []*Publisher {
	return slices.Clone(c.mu.pubs)
}

// Flush sends every Publisher's open batch now and waits until every
// message published through the Client's publishers so far is
// acknowledged or failed (and its callback has run), or ctx ends. It
// returns what the publishers' Flush returns, joined: each
// *PublishError (errors.Is ErrPublishFailed) reports messages published
// without a callback that failed, once.
func (c *Client) Flush(ctx context.Context) error {
	c.mu.Lock()
	pubs := c.publishersLocked()
	c.mu.Unlock()
	var errs []error
	for _, p := range pubs {
		if err := p.Flush(ctx); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Drain shuts the Client down gracefully, then closes it:
//
//  1. every Consume loop stops fetching (a long poll on its way is left:
//     what it may still deliver comes back after the server's ack
//     timeout), hands the batch it holds to its handler if it has one,
//     settles it, waits for its settlements' confirmations and returns
//     nil; a Consume started from now on returns nil at once;
//  2. every Publisher is flushed (see Flush), so a handler that
//     published as it consumed has its messages stored;
//  3. the Client closes (Close).
//
// If ctx ends first, Drain closes the Client at once, failing what is
// still on its way, and returns ctx's cause. Otherwise it returns the
// error of the publishers' flush (nil when every message was stored).
// Deliveries the application fetched itself (Fetch) are its own to
// settle before it calls Drain. Drain may be called once, instead of
// Close; later calls close and return nil.
func (c *Client) Drain(ctx context.Context) error {
	c.mu.Lock()
	d := &c.mu.drain
	if d.started || c.mu.closed {
		c.mu.Unlock()
		c.Close()
		return nil
	}
	d.started = true
	idle := make(chan struct{})
	if len(d.stops) == 0 {
		close(idle)
	} else {
		d.idle = idle
	}
	for r := range d.stops {
		r.stop(errDraining)
	}
	c.mu.Unlock()

	var err error
	select {
	case <-idle:
		err = c.Flush(ctx)
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	c.Close()
	if ctx.Err() != nil {
		return wrapOp("drain", context.Cause(ctx))
	}
	return wrapOp("drain", err)
}

// CloseContext flushes every Publisher (see Flush) while ctx allows, then
// closes the Client (see Close): a deadline on ctx bounds how long a
// shutdown waits for messages on their way. It returns the flush's error,
// or ctx's cause if it ended first; the Client is closed either way.
// Close is CloseContext without waiting.
func (c *Client) CloseContext(ctx context.Context) error {
	err := c.Flush(ctx)
	c.Close()
	return err
}
