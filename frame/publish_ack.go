package frame

import "encoding/binary"

// FlagDuplicate marks an [AckEntry] whose message id was already stored:
// the message was not stored again and Seq is the original's.
const FlagDuplicate uint16 = 1

// ackEntrySize is the wire size of an AckEntry.
const ackEntrySize = 12

// AckEntry is the result of one message of a PUBLISH, in message order. It
// is a plain value, safe for concurrent use.
type AckEntry struct {
	// Code is CodeOK when the message is stored durably, else why not.
	Code Code
	// Flags holds FlagDuplicate; receivers ignore unknown bits.
	Flags uint16
	// Seq is the message's sequence number in its destination (0 unless
	// Code is CodeOK).
	Seq uint64
}

// Duplicate reports whether e has FlagDuplicate set.
func (e AckEntry) Duplicate() bool {
	return e.Flags&FlagDuplicate != 0
}

// AppendPublishAck appends a whole PUBLISH_ACK frame holding entries.
func AppendPublishAck(dst []byte, corr uint64, entries []AckEntry) []byte {
	start := len(dst)
	dst = StartPublishAck(dst, corr)
	for _, e := range entries {
		dst = AppendAckEntry(dst, e)
	}
	FinishPublishAck(dst, start, uint32(len(entries)))
	return dst
}

// StartPublishAck appends the start of a PUBLISH_ACK frame to dst: the
// header and a zero count. Remember start := len(dst) before the call,
// append entries with [AppendAckEntry], then call [FinishPublishAck].
func StartPublishAck(dst []byte, corr uint64) []byte {
	dst = appendHeader(dst, TypePublishAck, corr)
	return binary.BigEndian.AppendUint32(dst, 0)
}

// AppendAckEntry appends one entry to a PUBLISH_ACK frame.
func AppendAckEntry(dst []byte, e AckEntry) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(e.Code))
	dst = binary.BigEndian.AppendUint16(dst, e.Flags)
	return binary.BigEndian.AppendUint64(dst, e.Seq)
}

// FinishPublishAck completes the PUBLISH_ACK frame that starts at b[start]
// and ends at the end of b: it patches the length and sets the count.
func FinishPublishAck(b []byte, start int, count uint32) {
	PatchLength(b, start)
	putCount(b, start+HeaderSize, count)
}

// PublishAck is a decoded PUBLISH_ACK body. It is a view into the body given
// to [DecodePublishAck], valid as long as that body is not modified or
// reused, and safe for concurrent reads.
type PublishAck struct {
	entries []byte
}

// DecodePublishAck decodes a PUBLISH_ACK body. The count must match the
// entries exactly; errors have CodeMalformed. Codes this version does not
// know are kept as they are. It allocates nothing.
func DecodePublishAck(body []byte) (PublishAck, error) {
	r := reader{b: body}
	entries := r.items(r.u32(), ackEntrySize)
	if err := r.end(); err != nil {
		return PublishAck{}, err
	}
	return PublishAck{entries: entries}, nil
}

// Len returns the number of entries.
func (pa PublishAck) Len() int {
	return len(pa.entries) / ackEntrySize
}

// Entry returns entry i, 0 <= i < Len(); it panics if i is out of range.
func (pa PublishAck) Entry(i int) AckEntry {
	b := pa.entries[i*ackEntrySize : (i+1)*ackEntrySize]
	return AckEntry{
		Code:  Code(binary.BigEndian.Uint16(b)),
		Flags: binary.BigEndian.Uint16(b[2:]),
		Seq:   binary.BigEndian.Uint64(b[4:]),
	}
}
