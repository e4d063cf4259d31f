package seal

import (
	"slices"

	"github.com/swarmmq/swarmmq/frame"
)

// DeadLetterSuffix ends the name of a dead-letter destination: a message
// that exhausts its deliveries on "q" moves, bytes unchanged, to "q.dlq".
// It is frame.DeadLetterSuffix, where names are defined.
const DeadLetterSuffix = frame.DeadLetterSuffix

// Open authenticates sealed (nonce | ciphertext | tag) against h with the
// key named h.KeyID, appends the plaintext to dst and returns the extended
// buffer. It fails with ErrUnknownKey if the keyring has no such key, and
// with ErrAuth if the payload was altered, sealed under another key, or
// sealed with another header; then it appends nothing and returns nil.
//
// h must be the header the producer sealed with. For a message read from
// a dead-letter destination ("q.dlq"), that is the original destination
// ("q"): use OpenDelivery, which tries both. Open may use the spare
// capacity of dst beyond the plaintext as scratch space, so that capacity
// must not overlap sealed. With enough capacity in dst it does not
// allocate.
func (kr *Keyring) Open(dst []byte, h Header, sealed []byte) ([]byte, error) {
	e := kr.lookup(h.KeyID)
	if e == nil {
		return nil, ErrUnknownKey
	}
	return e.open(dst, &h, sealed)
}

// open is Open with the key found.
func (e *entry) open(dst []byte, h *Header, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead || len(h.Destination) > MaxDestination {
		return nil, ErrAuth
	}
	n := len(dst)
	end := n + len(sealed) - Overhead
	dst = slices.Grow(dst, end-n+h.aadLen())
	aad := appendAAD(dst[end:end], h)
	out, err := e.aead.Open(dst[:n], sealed[:NonceSize], sealed[NonceSize:], aad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// Verify authenticates sealed against h like Open, for a node that must
// check a payload but not read it. It decrypts into scratch, wipes the
// plaintext, and returns scratch (grown if needed, length 0) for the next
// call, also on failure: reusing it, Verify does not allocate. The error
// is nil, ErrUnknownKey or ErrAuth.
func (kr *Keyring) Verify(scratch []byte, h Header, sealed []byte) ([]byte, error) {
	scratch = scratch[:0]
	e := kr.lookup(h.KeyID)
	if e == nil {
		return scratch, ErrUnknownKey
	}
	if len(sealed) < Overhead || len(h.Destination) > MaxDestination {
		return scratch, ErrAuth
	}
	if need := len(sealed) - Overhead + h.aadLen(); need > cap(scratch) {
		scratch = make([]byte, 0, need)
	}
	out, err := e.open(scratch, &h, sealed)
	clear(out)
	return scratch, err
}

// OpenDelivery is Open for a message delivered from h.Destination, which
// may be a dead-letter destination. Dead-lettering moves a message from
// "q" to "q.dlq" without changing its bytes, so its payload is still
// bound to "q". OpenDelivery tries h.Destination first (a message
// published straight to "q.dlq" opens at once); if that fails with ErrAuth
// and the name ends in ".dlq", it tries again with the suffix removed,
// and so on while one remains ("q.dlq.dlq", then "q.dlq", then "q").
// It returns the plaintext appended to dst and the destination the
// payload was sealed for (a view into h.Destination). Like Open, it
// fails with ErrUnknownKey or ErrAuth and then returns nil slices.
//
// The fallback means that a node able to dead-letter can also move a
// sealed message from "q" to "q.dlq" undetected; that is the dead-letter
// contract, and the payload cannot move anywhere else.
func (kr *Keyring) OpenDelivery(dst []byte, h Header, sealed []byte) (plaintext, origin []byte, err error) {
	e := kr.lookup(h.KeyID)
	if e == nil {
		return nil, nil, ErrUnknownKey
	}
	for {
		out, err := e.open(dst, &h, sealed)
		if err == nil {
			return out, h.Destination, nil
		}
		d := h.Destination
		if !frame.IsDeadLetter(d) {
			return nil, nil, err
		}
		h.Destination = d[:len(d)-len(DeadLetterSuffix)]
	}
}
