package frame

import (
	"encoding/binary"
	"math"
)

// appendStr appends s as a wire string: a u16 length and the bytes. A string
// longer than 65535 bytes is cut to 65535, so the frame stays well formed
// (no valid name or sensible text is that long).
func appendStr(dst, s []byte) []byte {
	if len(s) > math.MaxUint16 {
		s = s[:math.MaxUint16]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// reader is a bounds-checked cursor over a body. The first failure sticks:
// later reads return zero values, and end reports it. It lives on the stack
// of the decoder using it.
type reader struct {
	b   []byte
	off int
	err *Error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if len(r.b)-r.off < n {
		r.err = errTruncated
		return false
	}
	return true
}

func (r *reader) u8() uint8 {
	if !r.need(1) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

// str reads a wire string and returns a view of its bytes.
func (r *reader) str() []byte {
	return r.take(int(r.u16()))
}

// items returns the view of count items of size bytes each and moves past
// it. A count the remaining bytes cannot hold fails with errCount before any
// multiplication could overflow.
func (r *reader) items(count uint32, size int) []byte {
	if r.err != nil {
		return nil
	}
	rest := len(r.b) - r.off
	if uint64(count) > uint64(rest/size) {
		r.err = errCount
		return nil
	}
	n := int(count) * size
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

// rest returns the view of every byte left and moves to the end.
func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	s := r.b[r.off:len(r.b):len(r.b)]
	r.off = len(r.b)
	return s
}

// end reports the first failure, or errTrailing if bytes are left over.
func (r *reader) end() error {
	if r.err == nil && r.off != len(r.b) {
		r.err = errTrailing
	}
	if r.err != nil {
		return r.err
	}
	return nil
}

// names checks a destination and a group name once the structure is known
// to be sound, so that a malformed body is reported as MALFORMED.
func names(dest, group []byte) error {
	if !ValidDestination(dest) {
		return errDestination
	}
	if !ValidName(group) {
		return errGroup
	}
	return nil
}

// putCount overwrites the u32 count at b[off:].
func putCount(b []byte, off int, count uint32) {
	binary.BigEndian.PutUint32(b[off:], count)
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

// take returns a view of the next n bytes, or nil after a failure.
func (r *reader) take(n int) []byte {
	if !r.need(n) {
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}
