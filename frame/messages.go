package frame

import "encoding/binary"

// deliveryPrefix is the size of seq u64 and attempt u32 before a message in
// a MESSAGES body.
const deliveryPrefix = 12

// DeliveryPrefix is what each delivery adds to its message in a MESSAGES
// body: the seq u64 and the attempt u32.
const DeliveryPrefix = deliveryPrefix

// DeliveryOverhead is what a MESSAGES frame adds to a single message: the
// header, the count and [DeliveryPrefix]. A message larger than a
// connection's max frame minus this cannot be delivered on it.
const DeliveryOverhead = HeaderSize + 4 + deliveryPrefix

// StartMessages appends the start of a MESSAGES frame to dst: the header
// and a zero count. Remember start := len(dst) before the call, append the
// deliveries with [AppendDelivery], then call [FinishMessages].
func StartMessages(dst []byte, corr uint64) []byte {
	dst = appendHeader(dst, TypeMessages, corr)
	return binary.BigEndian.AppendUint32(dst, 0)
}

// AppendDelivery appends one delivery to a MESSAGES frame: the message's
// seq in its destination, the delivery attempt (1 for the first) and the
// message's wire bytes, copied as they are (as stored in the log).
func AppendDelivery(dst []byte, seq uint64, attempt uint32, rawMessage []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint32(dst, attempt)
	return append(dst, rawMessage...)
}

// FinishMessages completes the MESSAGES frame that starts at b[start] and
// ends at the end of b: it patches the length and sets the count.
func FinishMessages(b []byte, start int, count uint32) {
	PatchLength(b, start)
	putCount(b, start+HeaderSize, count)
}

// Delivery is one message of a MESSAGES body. Its views live as long as the
// body given to [DecodeMessages]; it is safe for concurrent reads.
type Delivery struct {
	// Seq is the message's sequence number in its destination.
	Seq uint64
	// Attempt counts deliveries of this message to the group, from 1.
	Attempt uint32
	// Message is the decoded message; its Payload is a view.
	Message Message
	// Raw is the message's exact wire bytes, a view.
	Raw []byte
}

// Messages is a decoded MESSAGES body. Raw is a view into the body given to
// [DecodeMessages] and stays valid as long as that body is not modified or
// reused; so do the views in each [Delivery]. Messages is an iterator (see
// [Messages.Next]) and so is not safe for concurrent use; copies iterate
// independently.
type Messages struct {
	// Count is the number of deliveries in Raw.
	Count uint32
	// Raw holds the deliveries back to back, as on the wire.
	Raw []byte

	off int // offset of the next delivery in Raw
}

// DecodeMessages decodes a MESSAGES body, walking every delivery's length
// fields so that the count matches exactly and no byte is left over. CRCs
// are not checked (see [Message.Verify]). Errors have CodeMalformed; it
// allocates nothing.
func DecodeMessages(body []byte) (Messages, error) {
	r := reader{b: body}
	count := r.u32()
	raw := r.rest()
	if r.err != nil {
		return Messages{}, r.err
	}
	if uint64(count) > uint64(len(raw)/(deliveryPrefix+MessageHeaderSize)) {
		return Messages{}, errCount
	}
	if err := walkMessages(raw, count, deliveryPrefix); err != nil {
		return Messages{}, err
	}
	return Messages{Count: count, Raw: raw}, nil
}

// Next returns the next delivery and true, or ok == false after the last
// one.
func (ms *Messages) Next() (d Delivery, ok bool) {
	rest := ms.Raw[min(ms.off, len(ms.Raw)):]
	if len(rest) < deliveryPrefix {
		ms.off = len(ms.Raw)
		return Delivery{}, false
	}
	m, n, err := ParseMessage(rest[deliveryPrefix:])
	if err != nil { // only if Raw did not come from DecodeMessages
		ms.off = len(ms.Raw)
		return Delivery{}, false
	}
	d.Seq = binary.BigEndian.Uint64(rest)
	d.Attempt = binary.BigEndian.Uint32(rest[8:])
	d.Message = m
	d.Raw = rest[deliveryPrefix : deliveryPrefix+n : deliveryPrefix+n]
	ms.off += deliveryPrefix + n
	return d, true
}

// Reset rewinds the iterator to the first delivery.
func (ms *Messages) Reset() {
	ms.off = 0
}
