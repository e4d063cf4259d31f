package perf

import (
	"encoding/binary"
	"time"
)

// stampSize is the bytes of a payload that carry its send time.
const stampSize = 8

// Clock reads monotonic nanoseconds since it was made. Producers and
// consumers of one run share a Clock, so a send time written into a
// payload by one and read by another is on the same time line. It is
// immutable and safe for concurrent use.
type Clock struct{ base time.Time }

// NewClock returns a Clock starting now.
func NewClock() Clock { return Clock{base: time.Now()} }

// Now returns the nanoseconds since the Clock was made.
func (c Clock) Now() int64 { return int64(time.Since(c.base)) }

// PutStamp writes the send time t into the first bytes of payload.
func PutStamp(payload []byte, t int64) {
	binary.LittleEndian.PutUint64(payload[:stampSize], uint64(t))
}

// Stamp reads the send time from payload; it returns -1 for a payload too
// short to carry one.
func Stamp(payload []byte) int64 {
	if len(payload) < stampSize {
		return -1
	}
	return int64(binary.LittleEndian.Uint64(payload[:stampSize]))
}

// NewPayload returns a payload of size bytes: a stamp of 0 and a fixed
// filler.
func NewPayload(size int) []byte {
	p := make([]byte, size)
	for i := stampSize; i < size; i++ {
		p[i] = byte('a' + i%26)
	}
	return p
}
