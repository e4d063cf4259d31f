package client

import (
	"errors"

	"github.com/swarmmq/swarmmq/frame"
)

// Code is a server error code, as it travels in ERROR frames and
// PUBLISH_ACK entries (docs/protocol.md §7). It is the same type as the
// wire codec's, so an application checks codes with this package alone:
// IsCode(err, client.CodeDestinationFull), or ErrorCode(err). Its String
// is the upper-case wire name.
type Code = frame.Code

// The codes an application may want to tell apart. Every error the server
// sends carries one; ErrorCode returns it.
const (
	CodeOK                 = frame.CodeOK
	CodeBadDestination     = frame.CodeBadDestination
	CodeBadGroup           = frame.CodeBadGroup
	CodeChecksum           = frame.CodeChecksum
	CodeStorage            = frame.CodeStorage
	CodeDestinationFull    = frame.CodeDestinationFull
	CodeShuttingDown       = frame.CodeShuttingDown
	CodeInternal           = frame.CodeInternal
	CodeBadRequest         = frame.CodeBadRequest
	CodeAuthFailed         = frame.CodeAuthFailed
	CodeUnknownKey         = frame.CodeUnknownKey
	CodeNotLeader          = frame.CodeNotLeader
	CodeDiskFull           = frame.CodeDiskFull
	CodeBadProducer        = frame.CodeBadProducer
	CodeTooLarge           = frame.CodeTooLarge
	CodeFlowControl        = frame.CodeFlowControl
	CodeSlowConsumer       = frame.CodeSlowConsumer
	CodeTooManyConnections = frame.CodeTooManyConnections
	CodeIdleTimeout        = frame.CodeIdleTimeout
	CodeUnsupportedVersion = frame.CodeUnsupportedVersion
	CodeMalformed          = frame.CodeMalformed
	CodeUnknownType        = frame.CodeUnknownType
	CodeHandshakeTimeout   = frame.CodeHandshakeTimeout
	CodeBadHeaders         = frame.CodeBadHeaders
)

// ErrorCode returns the server code in err's tree and true, or CodeOK and
// false when no server code caused err (a timeout, a lost connection, a
// closed Client, a context).
func ErrorCode(err error) (Code, bool) {
	var fe *frame.Error
	if errors.As(err, &fe) {
		return fe.Code, true
	}
	return CodeOK, false
}

// IsCode reports whether err was caused by the server code code.
func IsCode(err error, code Code) bool {
	c, ok := ErrorCode(err)
	return ok && c == code
}
