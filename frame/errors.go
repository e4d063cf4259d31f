package frame

import "errors"

// Error is a protocol error carrying its wire code. Decoders return *Error;
// servers send Code and Msg in an ERROR frame, and clients turn a received
// ERROR frame back into an *Error. Use errors.As (or [CodeOf]) to read the
// code; never compare messages.
//
// The *Error values returned by decoders are shared, preallocated sentinels
// (so that decoding never allocates): treat them as read-only. An Error is
// safe for concurrent use as long as nobody modifies it.
type Error struct {
	// Code is the wire code.
	Code Code
	// Msg says what went wrong, for people; it may be empty.
	Msg string
}

// Error returns "swarmmq: CODE: msg", for example
// "swarmmq: DESTINATION_FULL: destination q is full".
func (e *Error) Error() string {
	if e.Msg == "" {
		return "swarmmq: " + e.Code.String()
	}
	return "swarmmq: " + e.Code.String() + ": " + e.Msg
}

// CodeOf returns the wire code of err: CodeOK for nil, the Code of the first
// *Error in err's tree, and CodeInternal for any other error.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return CodeInternal
}

// The decoders' errors, allocated once. Their messages are fixed strings so
// that returning them costs nothing.
var (
	errShortLength = &Error{Code: CodeMalformed, Msg: "frame length is less than 12"}
	errTooLarge    = &Error{Code: CodeTooLarge, Msg: "frame is larger than the max frame"}
	errVersion     = &Error{Code: CodeUnsupportedVersion, Msg: "frame version is not 1"}
	errType        = &Error{Code: CodeUnknownType, Msg: "unknown frame type"}
	errTruncated   = &Error{Code: CodeMalformed, Msg: "body is truncated"}
	errTrailing    = &Error{Code: CodeMalformed, Msg: "bytes after the end of the body"}
	errCount       = &Error{Code: CodeMalformed, Msg: "count is larger than the body can hold"}
	errMessage     = &Error{Code: CodeMalformed, Msg: "message is truncated"}
	errNotEmpty    = &Error{Code: CodeMalformed, Msg: "body must be empty"}
	errTooMany     = &Error{Code: CodeBadRequest, Msg: "too many messages in one batch"}
	errDestination = &Error{Code: CodeBadDestination, Msg: "destination must be 1-251 bytes of [A-Za-z0-9._-], or up to 255 ending in .dlq"}
	errGroup       = &Error{Code: CodeBadGroup, Msg: "group must be 1-255 bytes of [A-Za-z0-9._-]"}
	errStart       = &Error{Code: CodeMalformed, Msg: "FETCH start must be 1 (earliest), 2 (latest), 3 (seq) or 4 (time)"}
)
