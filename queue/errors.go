package queue

import (
	"errors"
	"fmt"
)

// Result codes carried in Result.Code. Their values equal the wire codes of
// package frame (frame.CodeOK and frame.CodeDestinationFull, see
// docs/design/contracts.md), so the node copies them into PUBLISH_ACK as
// they are; queue does not import frame to keep the two codecs apart.
const (
	// CodeOK means the message was stored (or was a duplicate).
	CodeOK uint16 = 0
	// CodeDestinationFull means the destination is at MaxMsgs or MaxBytes.
	CodeDestinationFull uint16 = 14
)

var (
	// ErrCorrupt marks a record or snapshot whose bytes do not decode or do
	// not make sense. Test for it with IsCorrupt or errors.Is.
	ErrCorrupt = errors.New("swarmmq/queue: corrupt record or snapshot")
	// ErrUnknownGroup is returned by Deliver for a group that was never
	// created; the node then logs a GroupCreate record and retries.
	ErrUnknownGroup = errors.New("swarmmq/queue: unknown group")
	// ErrStaleIndex is returned by Apply for an index that is not above
	// the applied index.
	ErrStaleIndex = errors.New("swarmmq/queue: record index not above the applied index")
)

// IsCorrupt reports whether err is or wraps ErrCorrupt.
func IsCorrupt(err error) bool { return errors.Is(err, ErrCorrupt) }

// corruptf returns an error wrapping ErrCorrupt with the given detail.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
