package frame

import "encoding/binary"

// StartPublish appends the start of a PUBLISH frame to dst: the header, the
// destination and a zero count. Remember start := len(dst) before the call,
// append the messages with [AppendMessage], then call [FinishPublish].
func StartPublish(dst []byte, corr uint64, dest []byte) []byte {
	dst = appendHeader(dst, TypePublish, corr)
	dst = appendStr(dst, dest)
	return binary.BigEndian.AppendUint32(dst, 0)
}

// FinishPublish completes the PUBLISH frame that starts at b[start] and
// ends at the end of b: it patches the length and sets the count.
func FinishPublish(b []byte, start int, count uint32) {
	PatchLength(b, start)
	off := start + HeaderSize
	off += 2 + int(binary.BigEndian.Uint16(b[off:]))
	putCount(b, off, count)
}

// AppendPublish appends a whole PUBLISH frame holding msgs.
func AppendPublish(dst []byte, corr uint64, dest []byte, msgs []Message) []byte {
	start := len(dst)
	dst = StartPublish(dst, corr, dest)
	for _, m := range msgs {
		dst = AppendMessage(dst, m)
	}
	FinishPublish(dst, start, uint32(len(msgs)))
	return dst
}

// Publish is a decoded PUBLISH body: a destination and a batch of messages
// in wire form. Destination and Raw are views into the body given to
// [DecodePublish] and stay valid as long as that body is not modified or
// reused. A Publish is also an iterator (see [Publish.Next]) and so is not
// safe for concurrent use; copies iterate independently.
type Publish struct {
	// Destination is the valid destination name.
	Destination []byte
	// Count is the number of messages in Raw.
	Count uint32
	// Raw holds the Count messages, back to back, as on the wire.
	Raw []byte

	off int // offset of the next message in Raw
}

// DecodePublish decodes a PUBLISH body. It walks every message's length
// fields, so the count matches the messages exactly and no byte is left
// over; it does not check CRCs (see [Message.Verify]). A count above
// maxCount (maxCount <= 0: no limit but the body) fails with CodeBadRequest,
// an invalid destination with CodeBadDestination, anything else with
// CodeMalformed. It checks the count against what the body can hold before
// walking, and allocates nothing.
func DecodePublish(body []byte, maxCount int) (Publish, error) {
	r := reader{b: body}
	dest := r.str()
	count := r.u32()
	raw := r.rest()
	if r.err != nil {
		return Publish{}, r.err
	}
	if uint64(count) > uint64(len(raw)/MessageHeaderSize) {
		return Publish{}, errCount
	}
	if maxCount > 0 && uint64(count) > uint64(maxCount) {
		return Publish{}, errTooMany
	}
	if err := walkMessages(raw, count, 0); err != nil {
		return Publish{}, err
	}
	if !ValidDestination(dest) {
		return Publish{}, errDestination
	}
	return Publish{Destination: dest, Count: count, Raw: raw}, nil
}

// Next returns the next message, its exact wire bytes (raw, a view into
// Raw) and true, or ok == false after the last one.
func (p *Publish) Next() (m Message, raw []byte, ok bool) {
	if p.off >= len(p.Raw) {
		return Message{}, nil, false
	}
	m, n, err := ParseMessage(p.Raw[p.off:])
	if err != nil { // only if Raw did not come from DecodePublish
		p.off = len(p.Raw)
		return Message{}, nil, false
	}
	raw = p.Raw[p.off : p.off+n : p.off+n]
	p.off += n
	return m, raw, true
}

// Reset rewinds the iterator to the first message.
func (p *Publish) Reset() {
	p.off = 0
}
