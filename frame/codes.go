package frame

import "strconv"

// Code is a wire error code, sent in ERROR frames and PUBLISH_ACK entries.
// Codes are only ever added, never renumbered or renamed; testdata/codes is
// the golden list a test holds this file to. Receivers must accept codes they
// do not know (a newer peer may send them). A Code is a plain value, safe for
// concurrent use.
type Code uint16

// The wire error codes of protocol v1.
const (
	// CodeOK means success.
	CodeOK Code = 0
	// CodeMalformed means a frame or body does not follow the layout.
	CodeMalformed Code = 1
	// CodeTooLarge means a frame is longer than the negotiated max frame.
	CodeTooLarge Code = 2
	// CodeUnsupportedVersion means the frame's version is not 1.
	CodeUnsupportedVersion Code = 3
	// CodeUnknownType means the frame type is unknown or not accepted here.
	CodeUnknownType Code = 4
	// CodeHandshakeRequired means a frame other than HELLO came first.
	CodeHandshakeRequired Code = 5
	// CodeHandshakeTimeout means no HELLO arrived in time.
	CodeHandshakeTimeout Code = 6
	// CodeIdleTimeout means the connection was silent for too long.
	CodeIdleTimeout Code = 7
	// CodeTooManyConnections means the server is at its connection limit.
	CodeTooManyConnections Code = 8
	// CodeFlowControl means the client exceeded its credits.
	CodeFlowControl Code = 9
	// CodeBadDestination means a destination name is invalid.
	CodeBadDestination Code = 10
	// CodeBadGroup means a group name is invalid.
	CodeBadGroup Code = 11
	// CodeChecksum means a message's CRC-32C does not match.
	CodeChecksum Code = 12
	// CodeStorage means the server could not store durably.
	CodeStorage Code = 13
	// CodeDestinationFull means a destination reached one of its limits.
	CodeDestinationFull Code = 14
	// CodeShuttingDown means the server is stopping.
	CodeShuttingDown Code = 15
	// CodeInternal means an unexpected server-side failure.
	CodeInternal Code = 16
	// CodeBadRequest means a well-formed request that cannot be served.
	CodeBadRequest Code = 17
	// CodeAuthFailed means a sealed payload failed authentication.
	CodeAuthFailed Code = 18
	// CodeUnknownKey means a message names a key id the server lacks.
	CodeUnknownKey Code = 19
	// CodeNotLeader means this node does not lead the partition.
	CodeNotLeader Code = 20
	// CodeSlowConsumer means the client did not read its replies in time.
	CodeSlowConsumer Code = 21
	// CodeDiskFull means the server's disk is (nearly) full: it refuses
	// new messages until space returns. Not fatal; retry later.
	CodeDiskFull Code = 22
	// CodeBadProducer means a producer session this connection does not
	// hold: a PUBLISH with FlagSession before PRODUCER, a message whose
	// producer is not the session's, or a PRODUCER resuming a session with
	// a wrong token.
	CodeBadProducer Code = 23
	// CodePeerRefused means a node refused a node-to-node link at its
	// handshake: another cluster name or partition count, or a node id it
	// does not expect (unknown, its own, or one that should not dial it).
	CodePeerRefused Code = 24
	// CodeBadHeaders means a message's header block breaks the rules of
	// docs/protocol.md §6 (malformed, over max_header_bytes or
	// max_header_count, a bad key or value) or its flags hold a bit the
	// server does not know. That message alone is refused.
	CodeBadHeaders Code = 25
)

// codeNames is a lookup table indexed by Code.
var codeNames = [...]string{
	CodeOK:                 "OK",
	CodeMalformed:          "MALFORMED",
	CodeTooLarge:           "TOO_LARGE",
	CodeUnsupportedVersion: "UNSUPPORTED_VERSION",
	CodeUnknownType:        "UNKNOWN_TYPE",
	CodeHandshakeRequired:  "HANDSHAKE_REQUIRED",
	CodeHandshakeTimeout:   "HANDSHAKE_TIMEOUT",
	CodeIdleTimeout:        "IDLE_TIMEOUT",
	CodeTooManyConnections: "TOO_MANY_CONNECTIONS",
	CodeFlowControl:        "FLOW_CONTROL",
	CodeBadDestination:     "BAD_DESTINATION",
	CodeBadGroup:           "BAD_GROUP",
	CodeChecksum:           "CHECKSUM",
	CodeStorage:            "STORAGE",
	CodeDestinationFull:    "DESTINATION_FULL",
	CodeShuttingDown:       "SHUTTING_DOWN",
	CodeInternal:           "INTERNAL",
	CodeBadRequest:         "BAD_REQUEST",
	CodeAuthFailed:         "AUTH_FAILED",
	CodeUnknownKey:         "UNKNOWN_KEY",
	CodeNotLeader:          "NOT_LEADER",
	CodeSlowConsumer:       "SLOW_CONSUMER",
	CodeDiskFull:           "DISK_FULL",
	CodeBadProducer:        "BAD_PRODUCER",
	CodePeerRefused:        "PEER_REFUSED",
	CodeBadHeaders:         "BAD_HEADERS",
}

// String returns the upper-case wire name of c, such as "DESTINATION_FULL",
// or "CODE(n)" for a code this version does not know.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE(" + strconv.Itoa(int(c)) + ")"
}

// Known reports whether c is a code of this version of the protocol.
func (c Code) Known() bool {
	return int(c) < len(codeNames)
}

// Fatal reports whether the server closes the connection after sending an
// ERROR frame with code c. A fatal error ends the connection; any other code
// answers one request and the connection carries on.
func (c Code) Fatal() bool {
	switch c {
	case CodeMalformed, CodeTooLarge, CodeUnsupportedVersion, CodeUnknownType,
		CodeHandshakeRequired, CodeHandshakeTimeout, CodeIdleTimeout,
		CodeTooManyConnections, CodeFlowControl, CodeShuttingDown,
		CodeSlowConsumer, CodePeerRefused:
		return true
	}
	return false
}
