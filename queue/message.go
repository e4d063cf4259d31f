package queue

import (
	"encoding/binary"
)

// The wire message layout (docs/design/contracts.md, package frame owns
// it; queue only reads the id and the payload length):
//
//	id [16] | timestamp i64 | producer u64 | key_id u32 | crc u32 | payload_len u32 | payload
const (
	msgHeaderSize = 44 // equals frame.MessageHeaderSize
	msgLenOff     = 40 // offset of payload_len
)

// msgLen returns the wire length of the message at the start of b, or -1
// if b does not hold a whole one.
func msgLen(b []byte) int {
	if len(b) < msgHeaderSize {
		return -1
	}
	pl := binary.BigEndian.Uint32(b[msgLenOff:])
	if uint64(pl) > uint64(len(b)-msgHeaderSize) {
		return -1
	}
	return msgHeaderSize + int(pl)
}

// msgID returns the id of message m (len(m) >= msgHeaderSize).
func msgID(m []byte) [16]byte { return [16]byte(m[:16]) }

// checkMessages verifies that raw is exactly count whole messages.
func checkMessages(raw []byte, count uint32) error {
	if uint64(count)*msgHeaderSize > uint64(len(raw)) {
		return corruptf("%d messages cannot fit in %d bytes", count, len(raw))
	}
	off := 0
	for i := uint32(0); i < count; i++ {
		n := msgLen(raw[off:])
		if n < 0 {
			return corruptf("message %d of %d is truncated", i, count)
		}
		off += n
	}
	if off != len(raw) {
		return corruptf("%d bytes after %d messages", len(raw)-off, count)
	}
	return nil
}

// msgProducerOff is the offset of the producer field.
const msgProducerOff = 24

// msgProducer returns the producer of message m (len(m) >= msgHeaderSize).
func msgProducer(m []byte) uint64 { return binary.BigEndian.Uint64(m[msgProducerOff:]) }
