package natspeer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swarmmq/swarmmq/perf"
)

// fetchWait is how long a Fetch waits for its batch.
const fetchWait = time.Second

// consumer consumes one stream through a durable pull consumer.
type consumer struct {
	t    *Target
	nc   *nats.Conn
	cons jetstream.Consumer
	opts perf.ConsumerOptions

	mu struct {
		sync.Mutex
		err error // the first failed ack or consume error
	}
}

// Consumer connects, makes sure the stream exists and creates (or binds
// to) the durable consumer group.
func (t *Target) Consumer(ctx context.Context, stream, group string, opts perf.ConsumerOptions) (perf.Consumer, error) {
	nc, err := t.connect()
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	var cons jetstream.Consumer
	if err == nil {
		err = ensureStream(ctx, js, stream)
	}
	if err == nil {
		cons, err = js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable: group, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		})
	}
	if err != nil {
		t.forget(nc)
		return nil, err
	}
	return &consumer{t: t, nc: nc, cons: cons, opts: opts}, nil
}

func (c *consumer) fail(err error) {
	c.mu.Lock()
	if c.mu.err == nil {
		c.mu.err = err
	}
	c.mu.Unlock()
}

func (c *consumer) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.err
}

func (c *consumer) Run(ctx context.Context) error {
	if c.opts.Confirmed {
		return c.runConfirmed(ctx)
	}
	cc, err := c.cons.Consume(func(m jetstream.Msg) {
		c.opts.Received(perf.Stamp(m.Data()))
		if err := m.Ack(); err != nil {
			c.fail(err)
		}
	}, jetstream.PullMaxMessages(c.opts.Batch), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		c.fail(err)
	}))
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}

// runConfirmed runs opts.Fetches confirmed fetch loops (see confirmedLoop).
func (c *consumer) runConfirmed(ctx context.Context) error {
	return perf.RunLoops(ctx, c.opts.Fetches, c.confirmedLoop)
}

// confirmedLoop fetches a batch, double-acks all of it at once and waits
// for every confirmation before the next fetch.
func (c *consumer) confirmedLoop(ctx context.Context) error {
	var msgs []jetstream.Msg
	for ctx.Err() == nil {
		mb, err := c.cons.Fetch(c.opts.Batch, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		msgs = msgs[:0]
		for m := range mb.Messages() {
			c.opts.Received(perf.Stamp(m.Data()))
			msgs = append(msgs, m)
		}
		if err := mb.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			return err
		}
		if len(msgs) == 0 {
			continue
		}
		if err := c.doubleAck(ctx, msgs); err != nil {
			return err
		}
	}
	return nil
}

func (c *consumer) doubleAck(ctx context.Context, msgs []jetstream.Msg) error {
	actx := context.WithoutCancel(ctx)
	begin := time.Now()
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() { errs[i] = m.DoubleAck(actx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if c.opts.AckConfirmed != nil {
		c.opts.AckConfirmed(time.Since(begin))
	}
	return nil
}

func (c *consumer) Close(context.Context) error {
	c.t.forget(c.nc)
	return c.failed()
}
