package frame

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"
)

// MessageHeaderSize is the size of a message without its payload.
const MessageHeaderSize = 44

// Offsets of the message fields.
const (
	msgTimestamp  = 16
	msgProducer   = 24
	msgKeyID      = 32
	msgCRC        = 36
	msgPayloadLen = 40
)

// castagnoli is the CRC-32C lookup table, built once and only read.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Message is one message in its wire form: the unit a partition log stores
// byte for byte. A Message returned by a decoder has Payload pointing into
// the decoder's input; it is valid as long as that input is. A Message is a
// plain value and safe for concurrent reads.
type Message struct {
	// ID is the producer-assigned unique id, the dedupe key.
	ID [16]byte
	// Timestamp is the producer's time, in unix nanoseconds.
	Timestamp int64
	// Producer identifies the producer.
	Producer uint64
	// KeyID names the key that sealed Payload; 0 means not sealed. It is
	// the low 24 bits of the key_id word (at most MaxKeyID).
	KeyID uint32
	// Flags is the top byte of the key_id word (FlagHeaders). Decoders
	// report every bit as sent; AppendMessage writes them, and sets
	// FlagHeaders when Headers is not nil.
	Flags uint8
	// CRC is the CRC-32C of the message without this field.
	// [AppendMessage] computes it; decoders report what was on the wire.
	CRC uint32
	// Headers is the header block (docs/protocol.md §6) that starts the
	// payload region, nil when FlagHeaders is not set. A decoder only
	// splits it off by its length: see CheckFlags for the rules.
	Headers []byte
	// Payload is the (sealed) payload: the payload region after Headers.
	Payload []byte
}

// Size returns the number of bytes m takes on the wire.
func (m Message) Size() int {
	return MessageHeaderSize + len(m.Headers) + len(m.Payload)
}

// keyWord returns the key_id word: flags in the top byte, the key id in
// the others.
func (m Message) keyWord() uint32 {
	f := m.Flags
	if m.Headers != nil {
		f |= FlagHeaders
	}
	return uint32(f)<<24 | m.KeyID
}

// AppendMessage appends m in wire form to dst, computing the CRC (m.CRC is
// ignored). It panics if the payload region is longer than 4 GiB, which no
// frame can carry, or if m.KeyID is above MaxKeyID (a keyring never holds
// such a key).
func AppendMessage(dst []byte, m Message) []byte {
	if uint64(len(m.Headers))+uint64(len(m.Payload)) > math.MaxUint32 {
		panic("BUG: frame: payload longer than 4 GiB")
	}
	if m.KeyID > MaxKeyID {
		panic("BUG: frame: key id above 2^24-1")
	}
	dst = slices.Grow(dst, m.Size())
	start := len(dst)
	dst = append(dst, m.ID[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Timestamp))
	dst = binary.BigEndian.AppendUint64(dst, m.Producer)
	dst = binary.BigEndian.AppendUint32(dst, m.keyWord())
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Headers)+len(m.Payload)))
	dst = append(dst, m.Headers...)
	dst = append(dst, m.Payload...)
	binary.BigEndian.PutUint32(dst[start+msgCRC:], checksum(dst[start:]))
	return dst
}

// checksum computes the CRC-32C of the wire message raw, skipping its crc
// field.
func checksum(raw []byte) uint32 {
	c := crc32.Update(0, castagnoli, raw[:msgCRC])
	return crc32.Update(c, castagnoli, raw[msgPayloadLen:])
}

// ParseMessage reads the message at the start of b and returns it with n,
// the number of bytes it spans. It checks the lengths, not the CRC (see
// [Message.Verify]) nor the header block's rules (see [Message.CheckFlags]):
// a message with a bad header block is still framed correctly, so it is
// refused alone. Headers and Payload are views into b, valid as long as b
// is. Errors are *[Error] with CodeMalformed; it never panics or allocates.
func ParseMessage(b []byte) (m Message, n int, err error) {
	if len(b) < MessageHeaderSize {
		return Message{}, 0, errMessage
	}
	plen := binary.BigEndian.Uint32(b[msgPayloadLen:])
	if uint64(plen) > uint64(len(b)-MessageHeaderSize) {
		return Message{}, 0, errMessage
	}
	n = MessageHeaderSize + int(plen)
	copy(m.ID[:], b)
	m.Timestamp = int64(binary.BigEndian.Uint64(b[msgTimestamp:]))
	m.Producer = binary.BigEndian.Uint64(b[msgProducer:])
	word := binary.BigEndian.Uint32(b[msgKeyID:])
	m.KeyID, m.Flags = word&MaxKeyID, uint8(word>>24)
	m.CRC = binary.BigEndian.Uint32(b[msgCRC:])
	m.Headers, m.Payload = splitRegion(b[MessageHeaderSize:n:n], m.Flags)
	return m, n, nil
}

// MessageTime returns the timestamp of the wire message at the start of b
// without decoding the rest; false if b is shorter than a message header.
func MessageTime(b []byte) (int64, bool) {
	if len(b) < MessageHeaderSize {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[msgTimestamp:])), true
}

// Verify reports whether m.CRC is the CRC-32C of m's other fields, that is,
// whether the message arrived as its producer wrote it. It does not
// allocate.
func (m Message) Verify() bool {
	// The fixed fields are laid out in a stack array without the crc
	// field. Handing that array to hash/crc32 would move it to the heap
	// (the hardware routine is called through a function variable), so
	// these 40 bytes go through crcFields, and the payload, which is
	// already in memory the caller owns, through hash/crc32.
	var h [MessageHeaderSize - 4]byte
	copy(h[:], m.ID[:])
	binary.BigEndian.PutUint64(h[msgTimestamp:], uint64(m.Timestamp))
	binary.BigEndian.PutUint64(h[msgProducer:], m.Producer)
	binary.BigEndian.PutUint32(h[msgKeyID:], m.keyWord())
	binary.BigEndian.PutUint32(h[msgCRC:], uint32(len(m.Headers)+len(m.Payload)))
	c := crcFields(&h)
	if len(m.Headers) > 0 {
		c = crc32.Update(c, castagnoli, m.Headers)
	}
	return crc32.Update(c, castagnoli, m.Payload) == m.CRC
}

// castagnoli8 holds the tables of slicing-by-8 for CRC-32C, built once and
// only read: castagnoli8[k][b] is the CRC state change of byte b followed by
// k zero bytes.
var castagnoli8 = makeSlicing8()

func makeSlicing8() *[8][256]uint32 {
	t := new([8][256]uint32)
	t[0] = *castagnoli
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}

// crcFields returns the CRC-32C of the 40 bytes of h, eight at a time.
func crcFields(h *[MessageHeaderSize - 4]byte) uint32 {
	t := castagnoli8
	c := ^uint32(0)
	for i := 0; i < len(h); i += 8 {
		c ^= binary.LittleEndian.Uint32(h[i:])
		c = t[7][c&0xff] ^ t[6][c>>8&0xff] ^ t[5][c>>16&0xff] ^ t[4][c>>24] ^
			t[3][h[i+4]] ^ t[2][h[i+5]] ^ t[1][h[i+6]] ^ t[0][h[i+7]]
	}
	return ^c
}

// walkMessages checks that raw holds exactly count messages, each after a
// prefix of prefix bytes (12 in MESSAGES, 0 in PUBLISH).
func walkMessages(raw []byte, count uint32, prefix int) error {
	off := 0
	for range count {
		if len(raw)-off < prefix+MessageHeaderSize {
			return errMessage
		}
		plen := binary.BigEndian.Uint32(raw[off+prefix+msgPayloadLen:])
		off += prefix + MessageHeaderSize
		if uint64(plen) > uint64(len(raw)-off) {
			return errMessage
		}
		off += int(plen)
	}
	if off != len(raw) {
		return errTrailing
	}
	return nil
}
