package frame

import "encoding/binary"

// FlagSession, in the header flags of a PUBLISH, says that its messages
// are published in the producer session the connection holds (see
// [Producer]): every message's producer field is the session's producer
// id, and its id is deduplicated against that session's messages only.
// Without it the ids are application ids, deduplicated per destination
// within the server's dedupe window.
const FlagSession uint16 = 1

// TokenSize is the size of a producer session's token.
const TokenSize = 16

// Producer is the body of PRODUCER, which opens a producer session on the
// connection (ID 0) or resumes one (the ID and Token its PRODUCER_OK gave).
// A plain value, safe for concurrent reads.
type Producer struct {
	// ID is the producer id to resume, or 0 for a new session.
	ID uint64
	// Token proves the session is the client's; zero with ID 0.
	Token [TokenSize]byte
}

// ProducerOK is the body of PRODUCER_OK: the session the connection now
// holds. A plain value, safe for concurrent reads.
type ProducerOK struct {
	// ID is the producer id the messages of the session carry.
	ID uint64
	// Token resumes the session on another connection.
	Token [TokenSize]byte
	// Window is the most messages of the session that may be unacknowledged
	// at once: the server recognises a retry of any of them.
	Window uint32
}

// AppendProducer appends a whole PRODUCER frame.
func AppendProducer(dst []byte, corr uint64, p Producer) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeProducer, corr)
	dst = binary.BigEndian.AppendUint64(dst, p.ID)
	dst = append(dst, p.Token[:]...)
	PatchLength(dst, start)
	return dst
}

// DecodeProducer decodes a PRODUCER body. Errors have CodeMalformed.
func DecodeProducer(body []byte) (Producer, error) {
	r := reader{b: body}
	p := Producer{ID: r.u64()}
	copy(p.Token[:], r.take(TokenSize))
	if err := r.end(); err != nil {
		return Producer{}, err
	}
	return p, nil
}

// AppendProducerOK appends a whole PRODUCER_OK frame; corr is the
// PRODUCER's.
func AppendProducerOK(dst []byte, corr uint64, p ProducerOK) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeProducerOK, corr)
	dst = binary.BigEndian.AppendUint64(dst, p.ID)
	dst = append(dst, p.Token[:]...)
	dst = binary.BigEndian.AppendUint32(dst, p.Window)
	PatchLength(dst, start)
	return dst
}

// DecodeProducerOK decodes a PRODUCER_OK body. Errors have CodeMalformed.
func DecodeProducerOK(body []byte) (ProducerOK, error) {
	r := reader{b: body}
	p := ProducerOK{ID: r.u64()}
	copy(p.Token[:], r.take(TokenSize))
	p.Window = r.u32()
	if err := r.end(); err != nil {
		return ProducerOK{}, err
	}
	return p, nil
}

// SetFlags sets the header flags of the frame that starts at b[start].
func SetFlags(b []byte, start int, flags uint16) {
	binary.BigEndian.PutUint16(b[start+6:], flags)
}
