package queue

import "encoding/binary"

// Helpers shared by the record and snapshot codecs. All integers are
// big-endian; a string (str16) is a u16 length and that many bytes.

// appendStr16 appends a u16 length and s. len(s) must be <= 65535: names
// come from frame, which limits them to 255 bytes.
func appendStr16(dst, s []byte) []byte {
	if len(s) > 0xffff {
		panic("BUG: swarmmq/queue: name longer than 65535 bytes")
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// reader consumes a byte slice front to back. The first shortfall sets
// err (wrapping ErrCorrupt) and every later read returns zero values, so a
// decoder checks err once at the end of a section.
type reader struct {
	b   []byte
	err error
}

// fail records the first error.
func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = corruptf("%s: %d bytes left", what, len(r.b))
	}
	r.b = nil
}

// take returns the next n bytes as a view, or nil after a shortfall.
func (r *reader) take(n int, what string) []byte {
	if n < 0 || n > len(r.b) {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(what string) uint8 {
	if v := r.take(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if v := r.take(2, what); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if v := r.take(4, what); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if v := r.take(8, what); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// str16 reads a u16 length and that many bytes; empty names are corrupt.
func (r *reader) str16(what string) []byte {
	n := int(r.u16(what))
	if r.err == nil && n == 0 {
		r.fail(what + " is empty")
		return nil
	}
	return r.take(n, what)
}

// optStr16 reads a u16 length and that many bytes, which may be none.
func (r *reader) optStr16(what string) []byte {
	return r.take(int(r.u16(what)), what)
}

// count reads a u32 count of items at least minSize bytes each and fails
// unless that many could fit in what is left, so callers may allocate
// count items safely.
func (r *reader) count(minSize int, what string) int {
	n := r.u32(what)
	if uint64(n)*uint64(minSize) > uint64(len(r.b)) {
		r.fail(what + " exceeds input")
		return 0
	}
	return int(n)
}
