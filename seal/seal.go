package seal

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sync/atomic"

	"github.com/swarmmq/swarmmq/frame"
)

// Sizes of a sealed payload: nonce | ciphertext | tag.
const (
	// NonceSize is the size of the GCM nonce that starts a sealed payload.
	NonceSize = 12
	// TagSize is the size of the GCM tag that ends it.
	TagSize = 16
	// Overhead is what sealing adds to a plaintext: NonceSize + TagSize.
	Overhead = NonceSize + TagSize
)

// Bounds of Seal's input.
const (
	// MaxDestination is the longest destination the additional data can
	// carry (its length is a u16). Protocol v1 names are at most 255 bytes.
	MaxDestination = math.MaxUint16
	// MaxPlaintext is the longest plaintext Seal accepts: its sealed form
	// must fit a message's u32 payload_len.
	MaxPlaintext = math.MaxUint32 - Overhead
)

// domain starts the additional data of every sealed payload, so that a
// tag computed for SwarmMQ payloads (of this version of the layout) can
// never be valid for anything else under the same key.
const domain = "swarmmq/seal v1\x00"

// AADSize is the size of a Header's additional data without its
// destination and header block: the additional data of h is AADSize +
// len(h.Destination) + len(h.Headers) bytes. Seal, Open and Verify build it in the spare capacity past their
// output, so a buffer with that much room to spare keeps them from
// allocating.
const AADSize = len(domain) + 16 + 2 + 8 + 8 + 4

// Header is the part of a message that a sealed payload is bound to (the
// GCM additional data): opening with any field changed fails with
// ErrAuth. Destination is the destination the message was published to;
// it is only read. A Header is a plain value, safe for concurrent reads.
type Header struct {
	// ID is the message id.
	ID [16]byte
	// Destination is the destination the producer published to (for a
	// dead-lettered message, the original one: see OpenDelivery).
	Destination []byte
	// Producer is the producer id.
	Producer uint64
	// Timestamp is the producer's timestamp, unix nanoseconds.
	Timestamp int64
	// KeyID is the id of the sealing key, as in the message's key_id
	// (at most frame.MaxKeyID).
	KeyID uint32
	// Headers is the message's header block as on the wire
	// (frame.Message.Headers), nil for a message without one. It is
	// authenticated, not encrypted: see appendAAD.
	Headers []byte
}

// aadLen returns the size of h's additional data.
func (h *Header) aadLen() int { return AADSize + len(h.Destination) + len(h.Headers) }

// appendAAD appends the additional data of h:
//
//	domain [16] | id [16] | dest_len u16 | destination | producer u64 | timestamp i64 | key_id u32 | headers
//
// key_id is the message's key_id word: with a header block, its top byte
// holds frame.FlagHeaders and the block follows as on the wire (its own
// length fields delimit it). A message without headers therefore has the
// additional data of the layout before headers existed, byte for byte,
// and no header block can be added to or removed from a sealed message
// unnoticed. The caller has checked len(h.Destination) <= MaxDestination.
func appendAAD(dst []byte, h *Header) []byte {
	dst = append(dst, domain...)
	dst = append(dst, h.ID[:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.Destination)))
	dst = append(dst, h.Destination...)
	dst = binary.BigEndian.AppendUint64(dst, h.Producer)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Timestamp))
	word := h.KeyID
	if h.Headers != nil {
		word |= uint32(frame.FlagHeaders) << 24
	}
	dst = binary.BigEndian.AppendUint32(dst, word)
	return append(dst, h.Headers...)
}

// Sealer seals payloads with its keyring's current key, drawing a fresh
// nonce for each. It is safe for concurrent use; make one per producer
// (a client) and keep it for the producer's life.
//
// Nonces. A nonce is 96 bits: a random 64-bit prefix and a 32-bit
// counter that starts at a random value,
//
//	0                        8              12
//	+------------------------+--------------+
//	| prefix (random)        | start + i    |
//	+------------------------+--------------+
//
// where i counts the messages sealed under this prefix. After 2^32
// messages the Sealer draws a new prefix and start ("epoch"), so a Sealer
// never repeats a nonce. Two Sealers — other producers, or this one
// after a restart — share no state; they repeat a nonce only if they draw
// the same prefix and their counter ranges overlap. Over the life of a
// key, with E epochs (Sealers made, plus wraps) sealing N messages in
// all, that probability is below E·N/2^96: at most 2^-32 for E·N ≤ 2^64,
// for example 2^24 producer starts sealing 2^40 messages. Rotate the key
// well before that. Sealing fully random nonces would allow only
// 2^32 messages per key for the same bound; a pure counter would need
// state that survives restarts and is shared by every producer.
type Sealer struct {
	key  *entry
	rand io.Reader
	ep   atomic.Pointer[epoch]
}

// epoch is one nonce prefix and its counter. used counts the nonces
// handed out; it is 64 bits wide so that it never wraps while the epoch
// is being replaced.
type epoch struct {
	prefix uint64
	start  uint32
	used   atomic.Uint64
}

// NewSealer returns a Sealer that seals with kr's current key. r supplies
// the random nonce prefixes; nil means crypto/rand.Reader, which is what
// production code should use.
func NewSealer(kr *Keyring, r io.Reader) (*Sealer, error) {
	if r == nil {
		r = rand.Reader
	}
	s := &Sealer{key: kr.current, rand: r}
	ep, err := newEpoch(r)
	if err != nil {
		return nil, err
	}
	s.ep.Store(ep)
	return s, nil
}

func newEpoch(r io.Reader) (*epoch, error) {
	var b [12]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("swarmmq/seal: cannot read a random nonce prefix: %w", err)
	}
	return &epoch{prefix: binary.BigEndian.Uint64(b[:8]), start: binary.BigEndian.Uint32(b[8:])}, nil
}

// KeyID returns the id of the key the Sealer seals with: the value for the
// message's key_id and Header.KeyID.
func (s *Sealer) KeyID() uint32 { return s.key.id }

// nonce writes a nonce never handed out before by this Sealer.
func (s *Sealer) nonce(n []byte) error {
	for {
		ep := s.ep.Load()
		if i := ep.used.Add(1) - 1; i <= math.MaxUint32 {
			binary.BigEndian.PutUint64(n, ep.prefix)
			binary.BigEndian.PutUint32(n[8:], ep.start+uint32(i))
			return nil
		}
		next, err := newEpoch(s.rand)
		if err != nil {
			return err
		}
		s.ep.CompareAndSwap(ep, next) // a loser retries with the winner's epoch
	}
}

// Seal encrypts and authenticates plaintext bound to h, appends the sealed
// payload to dst and returns the extended buffer:
//
//	0         12                     12+len(plaintext)    +16
//	+---------+----------------------+--------------------+
//	| nonce   | ciphertext           | tag                |
//	+---------+----------------------+--------------------+
//
// h.KeyID must be s.KeyID() (else ErrKeyMismatch): the caller writes the
// same value into the message's key_id. Seal may use the spare capacity
// of dst beyond the sealed payload as scratch space, so that capacity must
// not overlap plaintext. With enough capacity in dst it does not allocate.
// It fails with ErrTooLong for an oversized destination or plaintext, or
// if the random source fails.
func (s *Sealer) Seal(dst []byte, h Header, plaintext []byte) ([]byte, error) {
	if h.KeyID != s.key.id {
		return dst, ErrKeyMismatch
	}
	if len(h.Destination) > MaxDestination || uint64(len(plaintext)) > MaxPlaintext {
		return dst, ErrTooLong
	}
	n := len(dst)
	end := n + Overhead + len(plaintext)
	// The additional data goes past the output, in dst's own memory:
	// slices handed to the cipher.AEAD interface escape, so a local
	// buffer would cost an allocation per message.
	dst = slices.Grow(dst, end-n+h.aadLen())
	aad := appendAAD(dst[end:end], &h)
	nonce := dst[n : n+NonceSize]
	if err := s.nonce(nonce); err != nil {
		return dst[:n], err
	}
	return s.key.aead.Seal(dst[:n+NonceSize], nonce, plaintext, aad), nil
}
