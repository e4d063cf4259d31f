package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// ErrSettled is returned by a Delivery's Ack, Nak or Term when the
// delivery was already settled (acked, nacked or terminated), or when
// Consume's handler settles one after it returned.
var ErrSettled = errors.New("swarmmq/client: delivery already settled")

// ErrNotHeld is returned by Delivery.InProgress when the server did not
// push the delivery's ack deadline out: the group no longer holds it for
// this consumer (it was redelivered after its deadline, settled, or the
// group was reset), or it was pushed out as often as the server allows
// (max_progress). The handler should stop working on it: another
// consumer may have it by now.
var ErrNotHeld = errors.New("swarmmq/client: delivery is no longer held for this consumer")

// MaxTermReason is the longest reason Term sends, in bytes; a longer one
// is cut to it.
const MaxTermReason = frame.MaxTermReason

// outcome is how a delivery was (or is to be) settled.
type outcome uint8

const (
	outNone outcome = iota
	outAck
	outNak
	outTerm
)

// settlement is what a handler decided for one delivery of Consume.
type settlement struct {
	out    outcome
	delay  time.Duration // outNak
	reason string        // outTerm
}

// batch is the settlement state shared by the deliveries of one Fetch:
// every copy of a Delivery points at it. Its mutex guards the fields.
type batch struct {
	c *Client
	// deferred: the deliveries were handed to Consume's handler, whose
	// Ack, Nak and Term only record the outcome (Consume sends them,
	// together, once the handler returns). closed: the handler returned.
	deferred, closed bool
	mu               sync.Mutex
	n                int          // deliveries
	settled          []settlement // by delivery index; nil until one is settled
}

// at returns the settlement of delivery i. b.mu must be held.
func (b *batch) at(i uint32) settlement {
	if b.settled == nil {
		return settlement{}
	}
	return b.settled[i]
}

// set records the settlement of delivery i. b.mu must be held.
func (b *batch) set(i uint32, s settlement) {
	if b.settled == nil {
		b.settled = make([]settlement, b.n)
	}
	b.settled[i] = s
}

// settleOnce runs send for delivery i unless it is settled already, and
// records s once send succeeded (or at once in a deferred batch, whose
// send is nil).
func (d Delivery) settleOnce(s settlement, send func() error) error {
	b := d.b
	if b == nil {
		return errors.New("swarmmq/client: this Delivery was not returned by Fetch or Consume")
	}
	b.mu.Lock()
	if b.closed || b.at(d.i).out != outNone {
		b.mu.Unlock()
		return ErrSettled
	}
	if b.deferred {
		b.set(d.i, s)
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	if err := send(); err != nil {
		return err
	}
	b.mu.Lock()
	b.set(d.i, s)
	b.mu.Unlock()
	return nil
}

// Ack confirms the delivery (see Client.Ack): it is never delivered to
// the group again once the server confirmed it. A delivery returned by
// Fetch is acked at once, and Ack returns when the ack is durable. In
// Consume's handler, Ack only records the outcome and returns nil:
// Consume acks the batch's acked deliveries together, with one ACK, once
// the handler returns. A delivery is settled once: a second Ack, Nak or
// Term returns ErrSettled.
func (d Delivery) Ack(ctx context.Context) error {
	return d.settleOnce(settlement{out: outAck}, func() error {
		return d.b.c.Ack(ctx, d.Destination, d.Group, d.Seq)
	})
}

// Nak gives the delivery back, to be delivered again after delay (0: at
// once) with Attempt + 1 (see Client.Nack); after the server's
// max_deliver attempts it moves to the dead-letter destination. Like Ack,
// it is sent at once for a Fetch delivery and recorded for Consume to
// send when the handler returns.
func (d Delivery) Nak(ctx context.Context, delay time.Duration) error {
	delay = max0(delay)
	return d.settleOnce(settlement{out: outNak, delay: delay}, func() error {
		return d.b.c.Nack(ctx, d.Destination, d.Group, delay, d.Seq)
	})
}

// Term terminates the delivery: the group never gets it again, whatever
// its attempts, and the server copies it to the dead-letter destination
// "<Destination>.dlq" with reason (at most MaxTermReason bytes; a longer
// one is cut), unless Destination is itself a dead-letter destination.
// Use it for a message no retry can fix (it does not parse, it names
// something that does not exist), so that it does not take its
// max_deliver attempts and hold up others meanwhile. Like Ack, it is sent
// at once for a Fetch delivery, and recorded for Consume to send.
func (d Delivery) Term(ctx context.Context, reason string) error {
	reason = cutReason(reason)
	return d.settleOnce(settlement{out: outTerm, reason: reason}, func() error {
		return d.b.c.Term(ctx, d.Destination, d.Group, reason, d.Seq)
	})
}

// InProgress tells the server that the consumer is still working on the
// delivery: its ack deadline moves to the server's ack timeout from now
// (JetStream's +WPI), so a long task is not delivered to another
// consumer meanwhile. It is always sent at once, also in Consume's
// handler, and returns when the server answered. The server allows a
// bounded number of pushes per delivery (max_progress, 60 by default:
// about 5 minutes with the default 5 s ack timeout); beyond it, or when
// the group no longer holds the delivery, InProgress returns ErrNotHeld.
// Call it well within the ack timeout, for example every half of it.
func (d Delivery) InProgress(ctx context.Context) error {
	if d.b == nil {
		return errors.New("swarmmq/client: this Delivery was not returned by Fetch or Consume")
	}
	d.b.mu.Lock()
	settled := d.b.closed || d.b.at(d.i).out != outNone
	d.b.mu.Unlock()
	if settled {
		return ErrSettled
	}
	n, err := d.b.c.inProgress(ctx, d.Destination, d.Group, d.Seq)
	if err == nil && n == 0 {
		err = wrapOp("in progress on "+d.Destination+" for group "+d.Group, ErrNotHeld)
	}
	return err
}

// cutReason cuts reason to MaxTermReason bytes.
func cutReason(reason string) string {
	if len(reason) > MaxTermReason {
		return reason[:MaxTermReason]
	}
	return reason
}

// Term terminates the deliveries seqs of dest for group: they are never
// delivered to the group again, and the server copies each to the
// dead-letter destination "<dest>.dlq" with reason (at most
// MaxTermReason bytes; a longer one is cut), unless dest is itself a
// dead-letter destination. It returns once the server answered ACK_OK,
// after the termination is durable; like Ack it is idempotent and sent
// again after a reconnect.
func (c *Client) Term(ctx context.Context, dest, group, reason string, seqs ...uint64) error {
	reason = cutReason(reason)
	enc := func(part []uint64) []byte {
		return frame.AppendTerm(nil, 0, []byte(dest), []byte(group), []byte(reason), part)
	}
	err := c.ackNack(ctx, "terminate on "+dest+" for group "+group, dest, group, 2+len(reason), frame.TypeAckOK, seqs, enc)
	c.settled(dest, group, SettleTerm, len(seqs), err)
	return err
}

// InProgress pushes out the ack deadlines of the deliveries seqs of dest
// for group (see Delivery.InProgress) and returns how many the server
// pushed out.
func (c *Client) InProgress(ctx context.Context, dest, group string, seqs ...uint64) (int, error) {
	return c.inProgress(ctx, dest, group, seqs...)
}

func (c *Client) inProgress(ctx context.Context, dest, group string, seqs ...uint64) (int, error) {
	op := "in progress on " + dest + " for group " + group
	if err := checkNames(dest, group); err != nil {
		return 0, wrapOp(op, err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	per := (c.MaxFrame() - frame.HeaderSize - 2 - len(dest) - 2 - len(group) - 4) / 8
	part := c.partitionOf(dest)
	var calls []*syncCall
	counts := make([]uint32, 0, len(seqs)/per+1)
	for len(seqs) > 0 {
		n := min(per, len(seqs))
		i := len(counts)
		counts = append(counts, 0)
		s := newSyncCall(frame.AppendProgress(nil, 0, []byte(dest), []byte(group), seqs[:n]), frame.TypeNackOK, true,
			func(f frame.Frame) error {
				v, err := frame.DecodeNackOK(f.Body)
				if err != nil {
					return fmt.Errorf("%w: bad NACK_OK: %w", ErrProtocol, err)
				}
				counts[i] = v
				return nil
			})
		s.part = part
		calls = append(calls, s)
		seqs = seqs[n:]
	}
	if err := c.roundTrip(ctx, c.opts.RequestTimeout, calls...); err != nil {
		return 0, wrapOp(op, err)
	}
	total := 0
	for _, n := range counts {
		total += int(min(n, math.MaxInt32))
	}
	return total, nil
}

// AckAll acks every delivery of ds (of any destinations and groups: one
// ACK per destination and group) that is not settled yet, and waits for
// the server's confirmations. It is the batch form of Delivery.Ack for
// deliveries returned by Fetch; in Consume, return nil from the handler
// instead.
func AckAll(ctx context.Context, ds []Delivery) error {
	return settleAll(ctx, ds, settlement{out: outAck})
}

// NakAll gives back every delivery of ds that is not settled yet, to be
// delivered again after delay: the batch form of Delivery.Nak.
func NakAll(ctx context.Context, ds []Delivery, delay time.Duration) error {
	return settleAll(ctx, ds, settlement{out: outNak, delay: max0(delay)})
}

// settleAll settles the unsettled deliveries of ds with s, grouped by
// client, destination and group.
func settleAll(ctx context.Context, ds []Delivery, s settlement) error {
	type key struct {
		c           *Client
		dest, group string
	}
	var order []key
	seqs := map[key][]uint64{}
	for _, d := range ds {
		if d.b == nil {
			return errors.New("swarmmq/client: a Delivery not returned by Fetch or Consume")
		}
		d.b.mu.Lock()
		open := !d.b.closed && d.b.at(d.i).out == outNone
		d.b.mu.Unlock()
		if !open {
			continue
		}
		k := key{d.b.c, d.Destination, d.Group}
		if _, ok := seqs[k]; !ok {
			order = append(order, k)
		}
		seqs[k] = append(seqs[k], d.Seq)
	}
	for _, k := range order {
		var err error
		if s.out == outAck {
			err = k.c.Ack(ctx, k.dest, k.group, seqs[k]...)
		} else {
			err = k.c.Nack(ctx, k.dest, k.group, s.delay, seqs[k]...)
		}
		if err != nil {
			return err
		}
	}
	for _, d := range ds {
		if d.b != nil {
			d.b.mu.Lock()
			if !d.b.closed && d.b.at(d.i).out == outNone {
				d.b.set(d.i, s)
			}
			d.b.mu.Unlock()
		}
	}
	return nil
}
