package forward

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
)

// OpClientFrame is the only operation of a forwarding REQUEST today: one
// client frame to be handled as if the leader's own client had sent it.
const OpClientFrame = 1

// EnvelopeHeaderSize is the size of an Envelope before the client frame.
const EnvelopeHeaderSize = 1 + 1 + 8 + 4

// Envelope is the payload of a forwarding REQUEST:
//
//	op u8 | flags u8 (0) | producer u64 | max_frame u32 | client frame (header included)
//
// Producer is the producer session of the client's connection when the
// frame is a PUBLISH in a session (0 otherwise), MaxFrame the largest
// frame the client accepts (the leader's replies must fit it).
type Envelope struct {
	Producer uint64
	MaxFrame uint32
	// Frame is the client frame, header included: a view into the
	// decoded payload.
	Frame []byte
}

// ErrEnvelope is wrapped by every error of DecodeEnvelope.
var ErrEnvelope = errors.New("swarmmq/forward: bad envelope")

// AppendEnvelope appends e's encoding to dst.
func AppendEnvelope(dst []byte, e Envelope) []byte {
	dst = append(dst, OpClientFrame, 0)
	dst = binary.BigEndian.AppendUint64(dst, e.Producer)
	dst = binary.BigEndian.AppendUint32(dst, e.MaxFrame)
	return append(dst, e.Frame...)
}

// DecodeEnvelope decodes b; the Frame is a view into b. It checks that the
// client frame is one whole, well-formed frame (frame.Decode, at most
// maxFrame bytes) and that max_frame is one a client may negotiate.
func DecodeEnvelope(b []byte, maxFrame int) (Envelope, error) {
	if len(b) < EnvelopeHeaderSize {
		return Envelope{}, fmt.Errorf("%w: %d bytes, the header alone is %d", ErrEnvelope, len(b), EnvelopeHeaderSize)
	}
	if b[0] != OpClientFrame {
		return Envelope{}, fmt.Errorf("%w: unknown op %d", ErrEnvelope, b[0])
	}
	if b[1] != 0 {
		return Envelope{}, fmt.Errorf("%w: unknown flags %#x", ErrEnvelope, b[1])
	}
	e := Envelope{
		Producer: binary.BigEndian.Uint64(b[2:]),
		MaxFrame: binary.BigEndian.Uint32(b[10:]),
		Frame:    b[EnvelopeHeaderSize:],
	}
	if e.MaxFrame < netio.MinMaxFrame {
		return Envelope{}, fmt.Errorf("%w: max_frame %d below %d", ErrEnvelope, e.MaxFrame, netio.MinMaxFrame)
	}
	_, n, err := frame.Decode(e.Frame, maxFrame)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: the client frame: %w", ErrEnvelope, err)
	}
	if n == 0 {
		return Envelope{}, fmt.Errorf("%w: the client frame is cut short (%d bytes)", ErrEnvelope, len(e.Frame))
	}
	if n != len(e.Frame) {
		return Envelope{}, fmt.Errorf("%w: %d bytes after the client frame", ErrEnvelope, len(e.Frame)-n)
	}
	return e, nil
}
