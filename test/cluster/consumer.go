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
	// unacked are the batches whose ACK failed, acked again (on the next
	// client if need be) before the next FETCH: re-sending an ACK is
	// harmless, and a consumer that gives up on it leaves the message in
	// flight at a node that may no longer lead.
	unacked []batch
}

// batch is one FETCH's deliveries: where the recorder holds them and
// their seqs.
type batch struct {
	first int
	recs  []Delivery
	seqs  []uint64
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
		var err error
		if len(cc.unacked) > 0 {
			err = cc.ackAgain(ctx, c)
		}
		var ds []client.Delivery
		fetched := time.Now()
		if err == nil {
			ds, err = c.Fetch(ctx, cc.dest, cc.group, DefaultFetchMax, FetchWait)
		}
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

// settle records a batch, acks it and records the confirmation; a batch
// whose ACK failed waits in unacked.
func (cc *consumer) settle(ctx context.Context, c *client.Client, fetched time.Time, ds []client.Delivery) error {
	at := time.Now()
	b := batch{recs: make([]Delivery, len(ds)), seqs: make([]uint64, len(ds))}
	for i, d := range ds {
		b.recs[i] = Delivery{Group: cc.group, Dest: cc.dest, Seq: d.Seq, ID: payloadID(d.Payload), Attempt: d.Attempt, Fetched: fetched, At: at}
		b.seqs[i] = d.Seq
	}
	b.first = cc.w.rec.Deliver(b.recs)
	if err := c.Ack(ctx, cc.dest, cc.group, b.seqs...); err != nil {
		cc.unacked = append(cc.unacked, b)
		return ackError{err}
	}
	cc.confirm(b)
	return nil
}

// ackAgain acks the batches whose ACK failed, oldest first.
func (cc *consumer) ackAgain(ctx context.Context, c *client.Client) error {
	for len(cc.unacked) > 0 {
		b := cc.unacked[0]
		if err := c.Ack(ctx, cc.dest, cc.group, b.seqs...); err != nil {
			return ackError{err}
		}
		cc.confirm(b)
		cc.unacked = cc.unacked[1:]
	}
	return nil
}

// confirm records that b's ACK was confirmed.
func (cc *consumer) confirm(b batch) {
	cc.w.rec.Confirm(b.first, len(b.recs), time.Now())
	cc.w.mu.Lock()
	defer cc.w.mu.Unlock()
	for _, r := range b.recs {
		cc.w.mu.confirmed[cc.group][destID{cc.dest, r.ID}] = true
	}
}
