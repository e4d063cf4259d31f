package frame

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Version is the protocol version this package speaks.
const Version = 1

// HeaderSize is the size of a frame header, length field included.
const HeaderSize = 16

// DefaultMaxFrame is the largest whole frame (header included) a peer
// accepts until HELLO has negotiated another size.
const DefaultMaxFrame = 1 << 20

// lengthSize is the size of the length prefix; length counts the rest.
const lengthSize = 4

// Type is a frame type. Like every plain value of this package, it is safe
// for concurrent use.
type Type uint8

// The frame types of protocol v1.
const (
	TypeHello      Type = 1  // client → server: opens a connection
	TypeHelloOK    Type = 2  // server → client: accepts HELLO
	TypePublish    Type = 3  // client → server: a batch of messages
	TypePublishAck Type = 4  // server → client: one result per message
	TypeFetch      Type = 5  // client → server: asks for messages
	TypeMessages   Type = 6  // server → client: a batch of deliveries
	TypeAck        Type = 7  // client → server: confirms deliveries
	TypeAckOK      Type = 8  // server → client: the ack is durable
	TypeNack       Type = 9  // client → server: gives deliveries back
	TypeNackOK     Type = 10 // server → client: the nack was applied
	TypeError      Type = 11 // either way: a request failed
	TypePing       Type = 12 // either way: liveness probe
	TypePong       Type = 13 // either way: answers PING
	TypeProducer   Type = 14 // client → server: opens or resumes a producer session
	TypeProducerOK Type = 15 // server → client: the session this connection holds
	TypeMetadata   Type = 16 // client → server: asks who leads each partition
	TypeMetadataOK Type = 17 // server → client: the partition → leader table (metadata.go)
	TypeTerm       Type = 18 // client → server: terminates deliveries (settle.go); answered by ACK_OK
	TypeProgress   Type = 19 // client → server: deliveries still being worked on (settle.go); answered by NACK_OK
)

// typeNames is a lookup table indexed by Type.
var typeNames = [...]string{
	TypeHello:      "HELLO",
	TypeHelloOK:    "HELLO_OK",
	TypePublish:    "PUBLISH",
	TypePublishAck: "PUBLISH_ACK",
	TypeFetch:      "FETCH",
	TypeMessages:   "MESSAGES",
	TypeAck:        "ACK",
	TypeAckOK:      "ACK_OK",
	TypeNack:       "NACK",
	TypeNackOK:     "NACK_OK",
	TypeError:      "ERROR",
	TypePing:       "PING",
	TypePong:       "PONG",
	TypeProducer:   "PRODUCER",
	TypeProducerOK: "PRODUCER_OK",
	TypeMetadata:   "METADATA",
	TypeMetadataOK: "METADATA_OK",
	TypeTerm:       "TERM",
	TypeProgress:   "PROGRESS",
}

// String returns the upper-case wire name of t, such as "PUBLISH_ACK", or
// "TYPE(n)" for an unknown type.
func (t Type) String() string {
	if t.valid() {
		return typeNames[t]
	}
	if t.validPeer() {
		return peerTypeNames[t-TypePeerHello]
	}
	return "TYPE(" + strconv.Itoa(int(t)) + ")"
}

func (t Type) valid() bool {
	return t >= TypeHello && t <= TypeProgress
}

// Header is the fixed part of a frame after the length field. It is a plain
// value, safe for concurrent use.
type Header struct {
	// Version is the protocol version, [Version] for every frame of v1.
	Version uint8
	// Type says how to read the body.
	Type Type
	// Flags are bits whose meaning depends on Type: [FlagSession] on
	// PUBLISH, [FlagRelease] on NACK; every other bit, and every bit of
	// other types, is reserved: senders write 0, receivers ignore them.
	Flags uint16
	// Corr is the correlation id: a reply echoes its request's, and a frame
	// the server sends on its own carries 0.
	Corr uint64
}

// Frame is a decoded frame. Body is a view into the buffer given to
// [Decode] and stays valid as long as that buffer is not modified or reused;
// its capacity ends with the frame, so appending to it never overwrites the
// next frame. A Frame is safe for concurrent reads.
type Frame struct {
	Header
	Body []byte
}

// Decode reads the frame at the start of b and returns it together with n,
// the number of bytes it spans. n == 0 && err == nil means that b does not
// yet hold a whole frame: read more and call again with the same bytes
// first.
//
// A whole frame may be at most maxFrame bytes, header included (maxFrame <= 0
// means [DefaultMaxFrame]). The header is checked as far as it has arrived,
// field by field, before the body is needed: a length below 12 fails with
// CodeMalformed and a length above the max frame with CodeTooLarge as soon as
// the four length bytes are present, then a version other than 1 fails with
// CodeUnsupportedVersion and an unknown type with CodeUnknownType. Hence an
// error seen on a prefix of the input is the error of the whole input.
//
// Decode never panics and never allocates. Errors are *[Error]. Bodies are
// not examined: use the DecodeX function of f.Type.
func Decode(b []byte, maxFrame int) (f Frame, n int, err error) {
	return decode(b, maxFrame, false)
}

// decode is Decode for client links (peer false) and for node-to-node
// links (peer true, [DecodePeer]); only the set of valid types differs.
func decode(b []byte, maxFrame int, peer bool) (f Frame, n int, err error) {
	if len(b) < lengthSize {
		return Frame{}, 0, nil
	}
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	length := binary.BigEndian.Uint32(b)
	if length < HeaderSize-lengthSize {
		return Frame{}, 0, errShortLength
	}
	total := uint64(length) + lengthSize
	if total > uint64(maxFrame) {
		return Frame{}, 0, errTooLarge
	}
	if len(b) > 4 && b[4] != Version {
		return Frame{}, 0, errVersion
	}
	if len(b) > 5 && !Type(b[5]).validOn(peer) {
		return Frame{}, 0, errType
	}
	if uint64(len(b)) < total {
		return Frame{}, 0, nil
	}
	n = int(total)
	f.Version = b[4]
	f.Type = Type(b[5])
	f.Flags = binary.BigEndian.Uint16(b[6:])
	f.Corr = binary.BigEndian.Uint64(b[8:])
	f.Body = b[HeaderSize:n:n]
	return f, n, nil
}

// AppendHeader appends a frame header with h's fields exactly as given (set
// h.Version to [Version]) and a length for an empty body. Append the body,
// then call [PatchLength] with the offset the header was written at.
func AppendHeader(dst []byte, h Header) []byte {
	dst = binary.BigEndian.AppendUint32(dst, HeaderSize-lengthSize)
	dst = append(dst, h.Version, byte(h.Type))
	dst = binary.BigEndian.AppendUint16(dst, h.Flags)
	return binary.BigEndian.AppendUint64(dst, h.Corr)
}

// PatchLength sets the length field of the frame that starts at b[start] and
// ends at the end of b. It panics if that frame is longer than 4 GiB, which
// no max frame allows.
func PatchLength(b []byte, start int) {
	length := len(b) - start - lengthSize
	if uint64(length) > math.MaxUint32 {
		panic("BUG: frame: frame longer than 4 GiB")
	}
	binary.BigEndian.PutUint32(b[start:], uint32(length))
}

// appendHeader starts a v1 frame of type t.
func appendHeader(dst []byte, t Type, corr uint64) []byte {
	return AppendHeader(dst, Header{Version: Version, Type: t, Corr: corr})
}

// AppendPing appends a PING frame.
func AppendPing(dst []byte, corr uint64) []byte {
	return appendHeader(dst, TypePing, corr)
}

// AppendPong appends a PONG frame; corr is the PING's.
func AppendPong(dst []byte, corr uint64) []byte {
	return appendHeader(dst, TypePong, corr)
}

// DecodeEmpty checks the body of a frame that has none: PING and PONG.
func DecodeEmpty(body []byte) error {
	if len(body) != 0 {
		return errNotEmpty
	}
	return nil
}
