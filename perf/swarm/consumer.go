package swarm

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/perf"
)

// fetchWait is the long-poll wait of each fetch.
const fetchWait = time.Second

// ackTimeout bounds an ack sent after the consumer's Run has ended.
const ackTimeout = 30 * time.Second

// consumer consumes one destination in one group over its own Client.
// Unconfirmed acks (consume) run on goroutines of its own, at most
// AckWindow at once; Close waits for them.
type consumer struct {
	t           *Target
	c           *client.Client
	dest, group string
	opts        perf.ConsumerOptions
	slots       chan struct{} // one token per unconfirmed ack in flight
	wg          sync.WaitGroup

	mu struct {
		sync.Mutex
		err error // the first failed unconfirmed ack
	}
}

// Consumer opens a Client that consumes stream in group.
func (t *Target) Consumer(ctx context.Context, stream, group string, opts perf.ConsumerOptions) (perf.Consumer, error) {
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &consumer{t: t, c: c, dest: stream, group: group, opts: opts,
		slots: make(chan struct{}, max(1, opts.AckWindow))}, nil
}

// Run runs opts.Fetches fetch loops on the consumer's connection, so that
// many fetches are in flight, and returns the first error of any.
func (c *consumer) Run(ctx context.Context) error {
	return perf.RunLoops(ctx, c.opts.Fetches, c.loop)
}

// loop fetches and acks until ctx ends.
func (c *consumer) loop(ctx context.Context) error {
	for {
		ds, err := c.c.Fetch(ctx, c.dest, c.group, c.opts.Batch, fetchWait)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		case len(ds) == 0:
			continue
		}
		seqs := make([]uint64, len(ds))
		for i, d := range ds {
			seqs[i] = d.Seq
			c.opts.Received(perf.Stamp(d.Payload))
		}
		if err := c.ack(ctx, seqs); err != nil {
			return err
		}
	}
}

// ack acknowledges a batch: waiting for ACK_OK when confirmed, else on a
// goroutine once a slot is free.
func (c *consumer) ack(ctx context.Context, seqs []uint64) error {
	actx := context.WithoutCancel(ctx) // a fetched batch is acked even when the run ends
	if c.opts.Confirmed {
		begin := time.Now()
		if err := c.c.Ack(actx, c.dest, c.group, seqs...); err != nil {
			return err
		}
		if c.opts.AckConfirmed != nil {
			c.opts.AckConfirmed(time.Since(begin))
		}
		return nil
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	c.wg.Go(func() {
		defer func() { <-c.slots }()
		tctx, cancel := context.WithTimeout(actx, ackTimeout)
		defer cancel()
		if err := c.c.Ack(tctx, c.dest, c.group, seqs...); err != nil {
			c.mu.Lock()
			c.mu.err = errors.Join(c.mu.err, err)
			c.mu.Unlock()
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.err
}

func (c *consumer) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	c.c.Close() // fails the acks still outstanding, so their goroutines end
	<-done
	c.t.forget(c.c)
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(err, c.mu.err)
}
