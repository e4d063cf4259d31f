package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// FetchWait is the long-poll wait of the consumers' FETCHes.
const FetchWait = 200 * time.Millisecond

// consumerClient is one group's Client, shared by its consumers (one per
// destination) and replaced when it gives up.
type consumerClient struct {
	w     *Workload
	group string

	mu struct {
		sync.Mutex
		c *client.Client
	}
}

func newConsumerClient(w *Workload, group string) *consumerClient {
	return &consumerClient{w: w, group: group}
}

// get returns the group's Client, dialling a new one if there is none or
// the current one is dead (it gave up reconnecting).
func (cc *consumerClient) get(ctx context.Context, dead *client.Client) (*client.Client, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.mu.c != nil && cc.mu.c != dead {
		return cc.mu.c, nil
	}
	if cc.mu.c != nil {
		cc.mu.c.Close()
		cc.mu.c = nil
	}
	c, err := cc.w.dial(ctx, "consumer "+cc.group, cc.w.opts.Client)
	if err != nil {
		return nil, err
	}
	cc.mu.c = c
	return c, nil
}

func (cc *consumerClient) close() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.mu.c != nil {
		cc.mu.c.Close()
		cc.mu.c = nil
	}
}

// run fetches dest for the group until ctx ends: each batch is recorded,
// acked, and marked confirmed when Ack returns nil (ACK_OK). It signals
// ready after its first answered FETCH (the group then exists). After an
// error it waits a little before the next FETCH (the Client reconnects by
// itself meanwhile).
func (cc *consumerClient) run(ctx context.Context, dest string, ready chan<- struct{}) {
	who := "consumer " + cc.group + "/" + dest
	var dead *client.Client
	for ctx.Err() == nil {
		c, err := cc.get(ctx, dead)
		if err != nil {
			return
		}
		dead = nil
		fetched := time.Now()
		ds, err := c.Fetch(ctx, dest, cc.group, DefaultFetchMax, FetchWait)
		if err == nil && ready != nil {
			ready <- struct{}{}
			ready = nil
		}
		if err == nil && len(ds) > 0 {
			err = cc.settle(ctx, c, dest, fetched, ds)
		}
		if err == nil || ctx.Err() != nil {
			continue
		}
		cc.w.rec.Error(who, opOf(err), err)
		if isClosed(err) {
			dead = c
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// ackError marks an error of the ack of a batch.
type ackError struct{ error }

func (e ackError) Unwrap() error { return e.error }

func opOf(err error) string {
	var ae ackError
	if errors.As(err, &ae) {
		return "ack"
	}
	return "fetch"
}

// settle records a batch, acks it and records the confirmation.
func (cc *consumerClient) settle(ctx context.Context, c *client.Client, dest string, fetched time.Time, ds []client.Delivery) error {
	at := time.Now()
	recs := make([]Delivery, len(ds))
	seqs := make([]uint64, len(ds))
	for i, d := range ds {
		recs[i] = Delivery{Group: cc.group, Dest: dest, Seq: d.Seq, ID: payloadID(d.Payload), Attempt: d.Attempt, Fetched: fetched, At: at}
		seqs[i] = d.Seq
	}
	first := cc.w.rec.Deliver(recs)
	if err := c.Ack(ctx, dest, cc.group, seqs...); err != nil {
		return ackError{err}
	}
	cc.w.rec.Confirm(first, len(recs), time.Now())
	cc.w.mu.Lock()
	defer cc.w.mu.Unlock()
	for _, r := range recs {
		cc.w.mu.confirmed[cc.group][destID{dest, r.ID}] = true
	}
	return nil
}
