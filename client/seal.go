package client

import (
	"errors"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// sealOverhead returns what sealing adds to each payload: seal.Overhead
// with a keyring, else 0.
func (c *Client) sealOverhead() int {
	if c.sealer == nil {
		return 0
	}
	return seal.Overhead
}

// sealMessage seals m.Payload for dest when the Client has a keyring:
// the sealed payload is appended to buf[:0], and m gets it and the key
// id. The header bound into it is m's own id, producer, timestamp and
// header block, so what is sent is exactly what was sealed. It returns buf, grown, for
// reuse. Without a keyring m is left unsealed (key id 0).
func (c *Client) sealMessage(buf, dest []byte, m *frame.Message) ([]byte, error) {
	if c.sealer == nil {
		return buf, nil
	}
	m.KeyID = c.sealer.KeyID()
	h := seal.Header{ID: m.ID, Destination: dest, Producer: m.Producer, Timestamp: m.Timestamp, KeyID: m.KeyID,
		Headers: m.Headers}
	out, err := c.sealer.Seal(buf[:0], h, m.Payload)
	if err != nil {
		return buf, err
	}
	m.Payload = out
	return out, nil
}

// opener turns the payloads of deliveries from one destination into what
// the application sees: with a keyring, sealed payloads are authenticated
// and decrypted; without one, payloads pass as they are. It is used on
// the reader goroutine only.
type opener struct {
	kr   *seal.Keyring
	dest []byte
}

// open appends m's plaintext to arena and returns the extended arena, or
// the reason m may not be handed over (see Delivery.Err).
func (o opener) open(arena []byte, seq uint64, m frame.Message) ([]byte, error) {
	switch {
	case o.kr == nil && m.KeyID == 0:
		return append(arena, m.Payload...), nil
	case o.kr == nil:
		return arena, o.mismatch(seq, m.KeyID, seal.ErrUnknownKey, "and this consumer has no keyring")
	case m.KeyID == 0:
		return arena, o.mismatch(seq, 0, ErrUnsealed, "")
	}
	h := seal.Header{ID: m.ID, Destination: o.dest, Producer: m.Producer, Timestamp: m.Timestamp, KeyID: m.KeyID,
		Headers: m.Headers}
	out, _, err := o.kr.OpenDelivery(arena, h, m.Payload)
	switch {
	case errors.Is(err, seal.ErrUnknownKey):
		return arena, o.mismatch(seq, m.KeyID, err, "which this consumer's keyring does not have")
	case err != nil:
		return arena, o.fail(seq, m.KeyID, err, "")
	}
	return out, nil
}

func (o opener) fail(seq uint64, keyID uint32, err error, why string) error {
	return &openError{seq: seq, dest: string(o.dest), keyID: keyID, err: err, why: why}
}

// mismatch is fail for a message this consumer's own configuration cannot
// open (ErrKeyringMismatch).
func (o opener) mismatch(seq uint64, keyID uint32, err error, why string) error {
	return &openError{seq: seq, dest: string(o.dest), keyID: keyID, err: err, why: why, mismatch: true}
}

// openError is a Delivery.Err: why a delivered message is not handed
// over. It wraps seal.ErrAuth, seal.ErrUnknownKey or ErrUnsealed, and
// ErrKeyringMismatch when the cause is the consumer's configuration; it
// is immutable, safe for concurrent use.
type openError struct {
	seq      uint64
	dest     string
	keyID    uint32
	err      error
	why      string // more about err, may be empty
	mismatch bool   // the consumer's keyring does not fit the message
}

func (e *openError) Error() string {
	switch {
	case e.mismatch && e.keyID == 0:
		return fmt.Sprintf("swarmmq: message seq %d of %s is not sealed, but this consumer has a keyring "+
			"(does the node run without one? consume without a keyring)", e.seq, e.dest)
	case e.mismatch:
		return fmt.Sprintf("swarmmq: message seq %d of %s is sealed with key id %d, %s", e.seq, e.dest, e.keyID, e.why)
	}
	s := fmt.Sprintf("swarmmq: cannot open message seq %d of %s (key id %d): %s", e.seq, e.dest, e.keyID, strip(e.err.Error()))
	if e.why != "" {
		s += ": " + e.why
	}
	return s
}

func (e *openError) Unwrap() []error {
	if e.mismatch {
		return []error{e.err, ErrKeyringMismatch}
	}
	return []error{e.err}
}
