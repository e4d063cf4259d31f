package client

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// Delivery is one message delivered to a consumer group. It owns its
// Payload (copied out of the frame, or decrypted into memory of its own);
// a Delivery is a plain value, safe for concurrent reads, and its copies
// share its settlement: it settles itself with Ack, Nak, Term (once) and
// InProgress, without repeating destination, group and seq.
//
// A delivery whose payload must not be used has Err set and a nil
// Payload: see Err. The other fields are the message's header as
// delivered, so such a delivery can still be reported, nacked or left
// unacknowledged (it then comes back after the server's ack timeout and,
// after the server's max_deliver attempts, moves to the dead-letter
// destination). Acking it discards the message for the group.
type Delivery struct {
	// Destination is the destination the message was published to.
	Destination string
	// Group is the consumer group it was delivered to.
	Group string
	// Seq is the message's sequence number in Destination: the handle to
	// Ack or Nack it.
	Seq uint64
	// Attempt counts deliveries of this message to Group, from 1; more than
	// 1 means an earlier delivery was not acknowledged in time or nacked.
	Attempt uint32
	// ID is the producer-assigned message id.
	ID [16]byte
	// Timestamp is the producer's clock when it published the message.
	Timestamp time.Time
	// Producer is the publishing client's producer id.
	Producer uint64
	// KeyID is the id of the key that sealed the payload; 0 means it was
	// not sealed.
	KeyID uint32
	i     uint32 // its index in b (beside KeyID, where the padding was)
	// Payload is the message body: decrypted and authenticated when the
	// Client has a keyring. It is nil when Err is set.
	Payload []byte
	// Headers are the message's header fields as published (nil for
	// none), authenticated with the payload when it was sealed. They are
	// the Delivery's own. They are nil too when Err is set.
	Headers Headers
	// Err, when not nil, says why the payload is withheld; it is never
	// handed over as garbage. With Options.Keyring: the sealed payload
	// failed authentication (errors.Is seal.ErrAuth: it was altered, or
	// sealed for another message id, destination, producer or timestamp,
	// or with other key material under the same id), its key id is not in
	// the keyring (seal.ErrUnknownKey), or it is not sealed at all
	// (ErrUnsealed). Without a keyring: the message is sealed
	// (seal.ErrUnknownKey). A message read from a dead-letter destination
	// "q.dlq" is opened as sealed for "q" when it was (see
	// seal.Keyring.OpenDelivery). A message whose flags this Client does
	// not know or whose header block breaks the rules (a node never stores
	// one) is withheld too, with a *frame.Error of code BAD_HEADERS.
	Err error

	b *batch // the settlement state of its Fetch; nil for a Delivery built by hand
}

// Fetch asks for up to max messages of dest for group (max <= 0 asks for
// the server's default batch) and returns what the server delivers. With
// nothing available, the server holds the request for up to wait (a long
// poll) and Fetch returns an empty slice if nothing came.
//
// Each delivery must be acknowledged (Ack) or given back (Nack); one that
// is not comes back after the server's ack timeout, with Attempt + 1.
// A delivery with Err set has no payload (see Delivery.Err); the others
// are authenticated and decrypted when the Client has a keyring. If the
// connection is lost while the FETCH is outstanding, or the node answers
// NOT_LEADER (leadership moved), the FETCH is sent again to the
// partition's leader, so a long poll goes on there (what the lost request
// delivered comes back after the ack timeout). The request may take wait
// plus Options.RequestTimeout; ctx can end it sooner.
func (c *Client) Fetch(ctx context.Context, dest, group string, max int, wait time.Duration) ([]Delivery, error) {
	return c.fetch(ctx, dest, group, max, wait, Start{})
}

// fetch is Fetch, starting the group at from if the FETCH creates it.
func (c *Client) fetch(ctx context.Context, dest, group string, max int, wait time.Duration, from Start) ([]Delivery, error) {
	op := "fetch from " + dest + " for group " + group
	if err := checkNames(dest, group); err != nil {
		return nil, wrapOp(op, err)
	}
	wait = max0(wait)
	f := frame.Fetch{
		Destination: []byte(dest), Group: []byte(group),
		Max:    uint32(min(max0(max), math.MaxUint32)),
		WaitMS: uint32(min(wait.Milliseconds(), math.MaxUint32)),
		Start:  from.kind, StartAt: from.at,
	}
	fc := &fetchCall{c: c, dest: dest, group: group, open: opener{kr: c.opts.Keyring, dest: []byte(dest)}}
	s := newSyncCall(frame.AppendFetch(nil, 0, f), frame.TypeMessages, true, fc.handle)
	s.part = c.partitionOf(dest)
	start := c.now()
	err := c.roundTrip(ctx, c.opts.RequestTimeout+wait, s)
	if err != nil {
		// fc.out is not ours to read: an abandoned call's reply may
		// still be handled on the reader goroutine.
		c.fetched(dest, group, 0, start, err)
		return nil, wrapOp(op, err)
	}
	c.fetched(dest, group, len(fc.out), start, nil)
	return fc.out, nil
}

// fetchCall turns a MESSAGES reply into deliveries on the reader goroutine;
// the waiter reads out after the call is done.
type fetchCall struct {
	c           *Client
	dest, group string
	open        opener
	out         []Delivery
}

func (fc *fetchCall) handle(f frame.Frame) error {
	ms, err := frame.DecodeMessages(f.Body)
	if err != nil {
		return fmt.Errorf("%w: bad MESSAGES: %w", ErrProtocol, err)
	}
	total, maxHdr := 0, 0
	for d, ok := ms.Next(); ok; d, ok = ms.Next() {
		total += len(d.Message.Payload)
		maxHdr = max(maxHdr, len(d.Message.Headers))
	}
	ms.Reset()
	if fc.open.kr != nil {
		// Opening builds the additional data past the plaintext.
		total += seal.AADSize + len(fc.open.dest) + maxHdr
	}
	arena := make([]byte, 0, total) // one allocation for every payload
	out := make([]Delivery, ms.Count)
	b := &batch{c: fc.c, n: len(out)}
	n := 0
	for d, ok := ms.Next(); ok && n < len(out); d, ok = ms.Next() {
		m := d.Message
		if !m.Verify() {
			return &frame.Error{Code: frame.CodeChecksum,
				Msg: fmt.Sprintf("message seq %d failed its CRC-32C check", d.Seq)}
		}
		// Filled in place: a Delivery is 160 bytes, and copying each one
		// into out showed in the consume profile.
		del := &out[n]
		del.Destination, del.Group, del.Seq, del.Attempt = fc.dest, fc.group, d.Seq, d.Attempt
		del.ID, del.Timestamp, del.Producer, del.KeyID = m.ID, time.Unix(0, m.Timestamp), m.Producer, m.KeyID
		del.b, del.i = b, uint32(n)
		n++
		start := len(arena)
		if m.Flags != 0 {
			del.Headers, del.Err = decodeHeaders(&m)
		}
		if del.Err != nil {
			del.Err = fmt.Errorf("swarmmq: message seq %d of %s withheld: %w", d.Seq, fc.dest, del.Err)
		} else if arena, del.Err = fc.open.open(arena, d.Seq, m); del.Err == nil {
			del.Payload = arena[start:len(arena):len(arena)]
		} else {
			del.Headers = nil
		}
	}
	fc.out = out[:n]
	return nil
}

// Ack confirms that group processed the deliveries seqs of dest, and
// returns once the server has answered ACK_OK, which it sends only after
// the ack is durable: a confirmed ack is never followed by a redelivery.
// An ACK is idempotent, so it is sent again after a reconnect; if Ack
// fails (ctx, timeout, the client gave up) the ack may or may not have
// been applied. Many seqs are split over several frames.
func (c *Client) Ack(ctx context.Context, dest, group string, seqs ...uint64) error {
	enc := func(part []uint64) []byte {
		return frame.AppendAck(nil, 0, []byte(dest), []byte(group), part)
	}
	err := c.ackNack(ctx, "ack on "+dest+" for group "+group, dest, group, 0, frame.TypeAckOK, seqs, enc)
	c.settled(dest, group, SettleAck, len(seqs), err)
	return err
}

// Nack gives the deliveries seqs of dest back to group, to be delivered
// again after delay (0: at once), with Attempt + 1. It returns once the
// server has answered NACK_OK; like Ack it is sent again after a
// reconnect.
func (c *Client) Nack(ctx context.Context, dest, group string, delay time.Duration, seqs ...uint64) error {
	ms := uint32(min(max0(delay).Milliseconds(), math.MaxUint32))
	enc := func(part []uint64) []byte {
		return frame.AppendNack(nil, 0, []byte(dest), []byte(group), ms, part)
	}
	err := c.ackNack(ctx, "nack on "+dest+" for group "+group, dest, group, 4, frame.TypeNackOK, seqs, enc)
	c.settled(dest, group, SettleNak, len(seqs), err)
	return err
}

// Release gives the deliveries seqs of dest back to group like Nack, but
// without counting the delivery attempt (NACK with frame.FlagRelease):
// their next delivery carries the same Attempt, and releasing never moves
// a message nearer max_deliver. Use it for messages the consumer did not
// try to process, such as those it cannot open with its own keyring
// (ErrKeyringMismatch). A server that predates the flag treats it as a
// Nack.
func (c *Client) Release(ctx context.Context, dest, group string, delay time.Duration, seqs ...uint64) error {
	ms := uint32(min(max0(delay).Milliseconds(), math.MaxUint32))
	enc := func(part []uint64) []byte {
		return frame.AppendRelease(nil, 0, []byte(dest), []byte(group), ms, part)
	}
	err := c.ackNack(ctx, "release on "+dest+" for group "+group, dest, group, 4, frame.TypeNackOK, seqs, enc)
	c.settled(dest, group, SettleNak, len(seqs), err)
	return err
}

// ackNack sends seqs in as many frames as the max frame needs and waits
// for every reply.
func (c *Client) ackNack(ctx context.Context, op, dest, group string, extra int, want frame.Type,
	seqs []uint64, enc func([]uint64) []byte) error {
	if err := checkNames(dest, group); err != nil {
		return wrapOp(op, err)
	}
	if len(seqs) == 0 {
		return nil
	}
	per := (c.MaxFrame() - frame.HeaderSize - 2 - len(dest) - 2 - len(group) - extra - 4) / 8
	part := c.partitionOf(dest)
	var calls []*syncCall
	for len(seqs) > 0 {
		n := min(per, len(seqs))
		s := newSyncCall(enc(seqs[:n]), want, true, nil)
		s.part = part
		calls = append(calls, s)
		seqs = seqs[n:]
	}
	return wrapOp(op, c.roundTrip(ctx, c.opts.RequestTimeout, calls...))
}

func checkNames(dest, group string) error {
	if err := checkName(dest, frame.CodeBadDestination); err != nil {
		return err
	}
	return checkName(group, frame.CodeBadGroup)
}

// max0 clamps negative values to 0.
func max0[T int | time.Duration](v T) T {
	return max(v, 0)
}
