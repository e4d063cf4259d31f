package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// FetchWait is the long-poll wait of the consumers' FETCHes.
const FetchWait = 200 * time.Millisecond

// consumer is one group's consumer of one destination, with a Client of
// its own, replaced when it gives up (or, routing by hand, reached the
// wrong node).
type consumer struct {
	w           *Workload
	group, dest string
}

// run fetches dest for the group until ctx ends: each batch is recorded,
// acked, and marked confirmed when Ack returns nil (ACK_OK). It signals
// ready after its first answered FETCH (the group then exists). After an
// error it waits a little before the next FETCH (the Client reconnects by
// itself meanwhile).
func (cc *consumer) run(ctx context.Context, ready chan<- struct{}) {
	who := "consumer " + cc.group + "/" + cc.dest
	var c *client.Client
	var addr string
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for ctx.Err() == nil {
		if c != nil && cc.w.movedFrom(ctx, cc.dest, addr) {
			c.Close()
			c = nil
		}
		if c == nil {
			var err error
			if c, addr, err = cc.w.dial(ctx, who, cc.dest, cc.w.opts.Client); err != nil {
				return
			}
		}
		fetched := time.Now()
		ds, err := c.Fetch(ctx, cc.dest, cc.group, DefaultFetchMax, FetchWait)
		if err == nil && ready != nil {
			ready <- struct{}{}
			ready = nil
		}
		if err == nil && len(ds) > 0 {
			err = cc.settle(ctx, c, fetched, ds)
		}
		if err == nil || ctx.Err() != nil {
			continue
		}
		cc.w.rec.Error(who, opOf(err), err)
		if isClosed(err) || (cc.w.opts.Locate != nil && wrongNode(err)) {
			c.Close()
			c = nil
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
func (cc *consumer) settle(ctx context.Context, c *client.Client, fetched time.Time, ds []client.Delivery) error {
	at := time.Now()
	recs := make([]Delivery, len(ds))
	seqs := make([]uint64, len(ds))
	for i, d := range ds {
		recs[i] = Delivery{Group: cc.group, Dest: cc.dest, Seq: d.Seq, ID: payloadID(d.Payload), Attempt: d.Attempt, Fetched: fetched, At: at}
		seqs[i] = d.Seq
	}
	first := cc.w.rec.Deliver(recs)
	if err := c.Ack(ctx, cc.dest, cc.group, seqs...); err != nil {
		return ackError{err}
	}
	cc.w.rec.Confirm(first, len(recs), time.Now())
	cc.w.mu.Lock()
	defer cc.w.mu.Unlock()
	for _, r := range recs {
		cc.w.mu.confirmed[cc.group][destID{cc.dest, r.ID}] = true
	}
	return nil
}
