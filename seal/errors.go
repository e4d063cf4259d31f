package seal

import "errors"

// Sentinel errors. Compare with errors.Is. Open and Verify return ErrAuth
// and ErrUnknownKey themselves, unwrapped, so that a failure allocates
// nothing.
var (
	// ErrAuth means a sealed payload failed authentication: it was
	// modified, sealed with another key that has the same id, or opened
	// with a header (id, destination, producer, timestamp, key id) other
	// than the one it was sealed with. Nothing of it may be used.
	ErrAuth = errors.New("swarmmq/seal: message authentication failed")
	// ErrUnknownKey means the keyring has no key with the header's key id
	// (key id 0 included: it means "not sealed").
	ErrUnknownKey = errors.New("swarmmq/seal: unknown key id")
	// ErrInvalidKeyring marks every error of ParseKeyring and NewKeyring;
	// the message lists each problem.
	ErrInvalidKeyring = errors.New("swarmmq/seal: invalid keyring")
	// ErrTooLong means Seal was given a destination longer than
	// MaxDestination bytes or a plaintext longer than MaxPlaintext bytes.
	ErrTooLong = errors.New("swarmmq/seal: destination or plaintext too long")
	// ErrKeyMismatch means Seal was given a header whose KeyID is not the
	// Sealer's: the frame would name a key other than the one bound into
	// the sealed payload.
	ErrKeyMismatch = errors.New("swarmmq/seal: header key id is not the sealer's key")
)
