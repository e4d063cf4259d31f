package client

import (
	"context"
	"fmt"
	"slices"

	"github.com/swarmmq/swarmmq/frame"
)

// PublishResult is the outcome of one published message. A result is a
// plain value, safe for concurrent reads.
type PublishResult struct {
	// ID is the message id the client gave the message.
	ID [16]byte
	// Seq is the message's sequence number in its destination (0 when Err
	// is set).
	Seq uint64
	// Duplicate reports that the server had already stored a message with
	// this id (a retry): it was not stored again and Seq is the original's.
	Duplicate bool
	// Err is why the message was not stored, nil when it was. A code the
	// server gave for this message (DESTINATION_FULL, CHECKSUM, STORAGE, …)
	// is a *frame.Error in Err's tree.
	Err error
}

// Message is a message to publish: its payload and optional headers. It
// is a plain value; Publish reads it and copies what it sends (sealing
// the payload when the Client has a keyring), so the caller may reuse it
// afterwards. Headers travel in the message's header block, stored and
// delivered with it (Delivery.Headers) and authenticated with a sealed
// payload, never encrypted: see Headers for the rules.
type Message struct {
	// Payload is the message body.
	Payload []byte
	// Headers are the message's header fields (trace context such as
	// traceparent, content type, schema id); nil or empty for none, which
	// sends the message exactly as a Client without headers does.
	Headers Headers
}

// publishOverhead is the size of a PUBLISH frame without its messages.
func publishOverhead(dest string) int {
	return frame.HeaderSize + 2 + len(dest) + 4
}

// deliveryOverhead is what a MESSAGES frame adds to one message (header,
// count, seq and attempt): a message larger than the max frame minus this
// could be stored but never delivered, so the server refuses it.
const deliveryOverhead = frame.DeliveryOverhead

// maxMessage returns the largest message (header included) that can be
// published to dest with frames of at most maxFrame bytes.
func maxMessage(dest string, maxFrame int) int {
	return maxFrame - max(publishOverhead(dest), deliveryOverhead)
}

// errTooLarge builds the error of a message too large for the max frame;
// sealOverhead is what sealing added to its payload.
func errTooLarge(size, maxFrame, sealOverhead int) error {
	what := "payload and 44-byte header"
	if sealOverhead > 0 {
		what = fmt.Sprintf("payload, %d bytes of sealing and 44-byte header", sealOverhead)
	}
	return &frame.Error{Code: frame.CodeTooLarge,
		Msg: fmt.Sprintf("message of %d bytes (%s) does not fit in frames of at most %d bytes", size, what, maxFrame)}
}

// pubCall is one PUBLISH frame of a synchronous Publish: which payloads it
// carries and, once answered, their entries (filled on the reader, read by
// the waiter after done).
type pubCall struct {
	*syncCall
	idx     []int
	entries []frame.AckEntry
}

func (pc *pubCall) handle(f frame.Frame) error {
	pa, err := frame.DecodePublishAck(f.Body)
	if err != nil {
		return fmt.Errorf("%w: bad PUBLISH_ACK: %w", ErrProtocol, err)
	}
	if pa.Len() != len(pc.idx) {
		return fmt.Errorf("%w: PUBLISH_ACK has %d entries for %d messages", ErrProtocol, pa.Len(), len(pc.idx))
	}
	pc.entries = make([]frame.AckEntry, pa.Len())
	for i := range pc.entries {
		pc.entries[i] = pa.Entry(i)
	}
	return nil
}

// Publish stores payloads in dest and waits until the server has
// acknowledged each one, that is, stored it durably. The messages go in one
// PUBLISH frame, or in as few as fit in the max frame. Payloads are copied
// (sealed first when the Client has a keyring) before Publish sends them.
//
// It returns one result per payload, in order, even when it fails; the
// error is nil only if every message was stored (or found stored: see
// PublishResult.Duplicate), else it reports how many failed and the first
// reason. While the connection is lost, Publish waits for the reconnect
// and the frames are sent again byte for byte, so a message is never
// stored twice by the client's own retries. Publish fails when ctx ends or
// Options.RequestTimeout runs out; a message may then have been stored or
// not.
func (c *Client) Publish(ctx context.Context, dest string, payloads ...[]byte) ([]PublishResult, error) {
	return c.publish(ctx, dest, messages(payloads), nil, true)
}

// PublishMsgs is Publish for messages with headers: it stores msgs in dest
// and waits for each one's acknowledgement, one result per message in
// order. A message whose headers break the rules or the node's bounds
// fails alone, before anything is sent, with a *frame.Error of code
// BAD_HEADERS in its PublishResult.Err.
func (c *Client) PublishMsgs(ctx context.Context, dest string, msgs ...Message) ([]PublishResult, error) {
	return c.publish(ctx, dest, msgs, nil, true)
}

// messages wraps payloads as Messages without headers.
func messages(payloads [][]byte) []Message {
	msgs := make([]Message, len(payloads))
	for i, p := range payloads {
		msgs[i].Payload = p
	}
	return msgs
}

// PublishAgain publishes payloads to dest again under the ids of an
// earlier attempt's results (Publish's, or a Publisher's callbacks' or
// futures'), one result per payload in the same order, in the Client's
// producer session like the first attempt: the server answers those it
// already stored as duplicates with their original seqs, so retrying a
// failure IsRetryable allows never stores a message twice (while the
// session remembers the ids: docs/protocol.md §8). Payloads must be the
// same as the first time; only the ids tie them to it.
func (c *Client) PublishAgain(ctx context.Context, dest string, earlier []PublishResult, payloads ...[]byte) ([]PublishResult, error) {
	if len(earlier) != len(payloads) {
		return nil, wrapOp("publish to "+dest+" again", fmt.Errorf("%d results for %d payloads", len(earlier), len(payloads)))
	}
	ids := make([][16]byte, len(earlier))
	for i, r := range earlier {
		ids[i] = r.ID
	}
	return c.publish(ctx, dest, messages(payloads), ids, true)
}

// PublishWithID stores payload in dest under an id the application chose,
// for example the hash of a business key, and waits for the server's
// acknowledgement, like Publish. The id is an application id: the server
// answers a message with the same id in the same destination, published
// by any client within its dedupe window (2 minutes and dedupe_max ids per
// partition by default; docs/protocol.md), with the original's seq and
// PublishResult.Duplicate, and stores it once. Use it to deduplicate what
// the application itself publishes again (after a crash, say); Publish's
// own retries need no ids (see Client).
func (c *Client) PublishWithID(ctx context.Context, dest string, id [16]byte, payload []byte) (PublishResult, error) {
	return c.PublishMsgWithID(ctx, dest, id, Message{Payload: payload})
}

// PublishMsgWithID is PublishWithID for a message with headers.
func (c *Client) PublishMsgWithID(ctx context.Context, dest string, id [16]byte, m Message) (PublishResult, error) {
	res, err := c.publish(ctx, dest, []Message{m}, [][16]byte{id}, false)
	if len(res) == 0 {
		return PublishResult{ID: id, Err: err}, err
	}
	return res[0], err
}

// publish is Publish, with the given ids of the messages when ids is not
// nil, in the producer session if session is set (else the ids are
// application ids).
func (c *Client) publish(ctx context.Context, dest string, msgs []Message, ids [][16]byte, session bool) ([]PublishResult, error) {
	op := "publish to " + dest
	if err := checkName(dest, frame.CodeBadDestination); err != nil {
		return nil, wrapOp(op, err)
	}
	flags := uint16(0)
	if session {
		flags = c.publishFlags()
	}
	if flags&frame.FlagSession != 0 {
		if err := c.takeInflight(ctx, len(msgs)); err != nil {
			return nil, wrapOp(op, err)
		}
		defer c.releaseInflight(len(msgs))
	}
	if c.hooks.publishes() {
		msgs = slices.Clone(msgs) // the hooks change headers: not in the caller's slice
		for i := range msgs {
			msgs[i] = c.hooks.onPublish(dest, msgs[i])
		}
	}
	results := make([]PublishResult, len(msgs))
	start := c.now()
	calls := c.buildPublish(dest, msgs, ids, flags, results, op)
	sent, size := c.sentSync(dest, calls)
	syncs := make([]*syncCall, len(calls))
	part := c.partitionOf(dest)
	for i, pc := range calls {
		syncs[i] = pc.syncCall
		pc.part = part
	}
	_ = c.roundTrip(ctx, c.opts.RequestTimeout, syncs...)
	failed := 0
	var first error
	for _, pc := range calls {
		for j, i := range pc.idx {
			r := &results[i]
			switch {
			case pc.outcome != nil:
				r.Err = wrapOp(op, pc.outcome)
			case pc.entries[j].Code != frame.CodeOK:
				r.Err = wrapOp(op, c.entryError(pc.entries[j].Code))
			default:
				r.Seq, r.Duplicate = pc.entries[j].Seq, pc.entries[j].Duplicate()
			}
		}
	}
	c.resolvedSync(dest, calls, results, sent, size, start)
	for _, r := range results {
		if r.Err != nil {
			failed++
			if first == nil {
				first = r.Err
			}
		}
	}
	if failed == 0 {
		return results, nil
	}
	if len(results) == 1 {
		return results, first
	}
	return results, fmt.Errorf("%d of %d messages failed, first: %w", failed, len(results), first)
}

// buildPublish encodes msgs into PUBLISH frames no larger than the max
// frame, with header flags flags and the ids in ids (nil: new random ones).
// A message no frame can carry, or with bad headers, gets its error in
// results at once.
func (c *Client) buildPublish(dest string, msgs []Message, ids [][16]byte, flags uint16, results []PublishResult, op string) []*pubCall {
	maxFrame := c.MaxFrame()
	overhead := publishOverhead(dest)
	extra := c.sealOverhead()
	destb := []byte(dest)
	var calls []*pubCall
	var cur *pubCall
	var sealed []byte
	left := sizeOf(msgs, extra) // wire size of the messages not yet encoded (headers aside)
	for i, msg := range msgs {
		var id [16]byte
		if ids != nil {
			id = ids[i]
		} else {
			id = c.newID()
		}
		results[i].ID = id
		left -= frame.MessageHeaderSize + extra + len(msg.Payload)
		hdr, err := c.encodeHeaders(msg.Headers)
		if err != nil {
			results[i].Err = wrapOp(op, err)
			continue
		}
		size := frame.MessageHeaderSize + extra + len(hdr) + len(msg.Payload)
		if size > maxMessage(dest, maxFrame) {
			results[i].Err = wrapOp(op, errTooLarge(size, maxFrame, extra))
			continue
		}
		m := frame.Message{ID: id, Timestamp: c.now().UnixNano(), Producer: c.producer.Load(), Headers: hdr, Payload: msg.Payload}
		if sealed, err = c.sealMessage(sealed, destb, &m); err != nil {
			results[i].Err = wrapOp(op, err)
			continue
		}
		if cur != nil && len(cur.buf)+size > maxFrame {
			frame.FinishPublish(cur.buf, 0, uint32(len(cur.idx)))
			cur = nil
		}
		if cur == nil {
			cur = &pubCall{}
			cur.syncCall = newSyncCall(nil, frame.TypePublishAck, true, cur.handle)
			cur.buf = frame.StartPublish(make([]byte, 0, min(maxFrame, overhead+size+left)), 0, destb)
			frame.SetFlags(cur.buf, 0, flags)
			calls = append(calls, cur)
		}
		cur.buf = frame.AppendMessage(cur.buf, m)
		cur.idx = append(cur.idx, i)
	}
	if cur != nil {
		frame.FinishPublish(cur.buf, 0, uint32(len(cur.idx)))
	}
	return calls
}

// sizeOf returns the wire size of msgs without their headers, each extra
// bytes longer once sealed.
func sizeOf(msgs []Message, extra int) int {
	n := 0
	for _, m := range msgs {
		n += frame.MessageHeaderSize + extra + len(m.Payload)
	}
	return n
}
