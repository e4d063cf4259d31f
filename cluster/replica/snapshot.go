package replica

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A raft snapshot of a partition must be self-contained: the state machine's
// snapshot names retained messages by their place in the log (index, offset,
// length), so the records from the snapshot's KeepFrom to its index travel
// with it and the receiver writes them at the same indexes. Payload:
//
//	+--------+----------------+-----------------+-------+----------+-----------------+------------------------------+
//	| ver u8 | crc32c u32 (*) | state uvarint n | state | first u64| count uvarint c | c × (len uvarint | record)    |
//	+--------+----------------+-----------------+-------+----------+-----------------+------------------------------+
//	(*) of every byte after it
//
// The records are entries first … first+c-1; the last is the snapshot's
// index (c = 0: the state points at no record).

const snapshotV1 = 1

// ErrBadSnapshot marks a snapshot payload that fails its checks.
var ErrBadSnapshot = errors.New("swarmmq/replica: bad snapshot payload")

// snapshotPayload is a decoded payload; state and records are views of the
// bytes it was decoded from.
type snapshotPayload struct {
	state   []byte
	first   uint64
	records [][]byte
}

// appendSnapshot encodes a payload.
func appendSnapshot(dst []byte, p snapshotPayload) []byte {
	start := len(dst)
	dst = append(dst, snapshotV1, 0, 0, 0, 0)
	dst = binary.AppendUvarint(dst, uint64(len(p.state)))
	dst = append(dst, p.state...)
	dst = binary.BigEndian.AppendUint64(dst, p.first)
	dst = binary.AppendUvarint(dst, uint64(len(p.records)))
	for _, r := range p.records {
		dst = binary.AppendUvarint(dst, uint64(len(r)))
		dst = append(dst, r...)
	}
	binary.BigEndian.PutUint32(dst[start+1:], crc32.Checksum(dst[start+5:], castagnoli))
	return dst
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeSnapshot parses a payload whose last record must be at index (when
// it has records). It never panics and allocates at most one slice header
// per byte of input.
func decodeSnapshot(b []byte, index uint64) (snapshotPayload, error) {
	var p snapshotPayload
	if len(b) < 5 || b[0] != snapshotV1 {
		return p, fmt.Errorf("%w: header", ErrBadSnapshot)
	}
	if want, got := binary.BigEndian.Uint32(b[1:]), crc32.Checksum(b[5:], castagnoli); want != got {
		return p, fmt.Errorf("%w: checksum %08x, want %08x", ErrBadSnapshot, got, want)
	}
	c := cursor{b: b[5:]}
	p.state = c.bytes()
	p.first = c.u64()
	n := c.uvarint()
	if c.err == nil && n > uint64(len(c.b)) {
		return p, fmt.Errorf("%w: %d records in %d bytes", ErrBadSnapshot, n, len(c.b))
	}
	if n > 0 {
		p.records = make([][]byte, 0, n)
	}
	for i := uint64(0); i < n && c.err == nil; i++ {
		p.records = append(p.records, c.bytes())
	}
	switch {
	case c.err != nil:
		return p, c.err
	case len(c.b) != 0:
		return p, fmt.Errorf("%w: %d bytes after the records", ErrBadSnapshot, len(c.b))
	case n > 0 && (p.first == 0 || p.first > index || index-p.first+1 != n):
		return p, fmt.Errorf("%w: records %d+%d do not end at index %d", ErrBadSnapshot, p.first, n, index)
	}
	return p, nil
}

// cursor reads a payload with a sticky error.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) uvarint() uint64 {
	if c.err != nil {
		return 0
	}
	v, n := binary.Uvarint(c.b)
	if n <= 0 {
		c.err = fmt.Errorf("%w: bad length", ErrBadSnapshot)
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) u64() uint64 {
	if c.err == nil && len(c.b) < 8 {
		c.err = fmt.Errorf("%w: short", ErrBadSnapshot)
	}
	if c.err != nil {
		return 0
	}
	v := binary.BigEndian.Uint64(c.b)
	c.b = c.b[8:]
	return v
}

func (c *cursor) bytes() []byte {
	n := c.uvarint()
	if c.err == nil && n > uint64(len(c.b)) {
		c.err = fmt.Errorf("%w: %d bytes announced, %d left", ErrBadSnapshot, n, len(c.b))
	}
	if c.err != nil {
		return nil
	}
	v := c.b[:n:n]
	c.b = c.b[n:]
	return v
}
