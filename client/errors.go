package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/swarmmq/swarmmq/frame"
)

// Sentinel errors. Compare with errors.Is; a returned error usually wraps
// one of these or a *frame.Error carrying the server's wire code.
var (
	// ErrClosed means the Client or Publisher was closed, or the Client
	// gave up reconnecting (the error then also wraps ErrConnectionLost
	// and the last connection error).
	ErrClosed = errors.New("swarmmq/client: closed")
	// ErrConnectionLost means the connection broke while a request that
	// cannot be sent twice (a FETCH, a PING) was outstanding, or the client
	// gave up reconnecting. Such a request can be retried.
	ErrConnectionLost = errors.New("swarmmq/client: connection lost")
	// ErrTimeout means a request got no reply within Options.RequestTimeout.
	ErrTimeout = errors.New("swarmmq/client: request timed out")
	// ErrProtocol means the server sent something protocol v1 does not
	// allow, such as a reply of the wrong type.
	ErrProtocol = errors.New("swarmmq/client: protocol violation")
	// ErrUnsealed is in the Delivery.Err of a message that is not sealed
	// (key id 0) delivered to a Client with a keyring. A node that
	// verifies with a keyring never stores such a message, so it came
	// from a node running unsealed or from something that bypassed it;
	// nothing vouches for its payload.
	ErrUnsealed = errors.New("swarmmq/client: message is not sealed but the client requires sealing")
	// ErrKeyringMismatch is also in the Delivery.Err of a message that
	// cannot be opened because of the Client's own configuration, not
	// because of the message: it is sealed with a key id the Client's
	// keyring does not have (or the Client has no keyring), or it is not
	// sealed while the Client has a keyring. A node that verifies
	// messages stores only those sealed with its own keys, and a node
	// without a keyring stores only unsealed ones, so such a message is
	// fine and another consumer can open it. Consume and consumer-client
	// give it back with Release (its attempt not counted) and stop,
	// rather than let it burn its deliveries into the dead-letter
	// destination. A message that fails authentication with a key the
	// Client has (seal.ErrAuth) is a fault of the message, not this.
	ErrKeyringMismatch = errors.New("swarmmq/client: the consumer's keyring does not match the message")
)

// IsRetryable reports whether the operation that failed with err may
// succeed when tried again on the same Client: a lost connection (unless
// the Client gave up: then it is closed), a timeout, or a server code
// saying "not now" (SHUTTING_DOWN, NOT_LEADER, STORAGE, DISK_FULL,
// FLOW_CONTROL, TOO_MANY_CONNECTIONS, SLOW_CONSUMER, IDLE_TIMEOUT).
//
// A publish that timed out or lost its connection may have been stored.
// Retry it with the same ids, never with a new Publish (which draws new
// ids): PublishAgain with the failed results (their ID), or
// PublishWithID again with the application's own id. Then a message
// already stored is answered as a duplicate with its seq and stored once.
// Acks, nacks, terminations and fetches can simply be sent again.
func IsRetryable(err error) bool {
	if errors.Is(err, ErrClosed) {
		return false
	}
	if errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrTimeout) {
		return true
	}
	var fe *frame.Error
	if !errors.As(err, &fe) {
		return false
	}
	switch fe.Code {
	case frame.CodeShuttingDown, frame.CodeNotLeader, frame.CodeStorage, frame.CodeDiskFull, frame.CodeFlowControl,
		frame.CodeTooManyConnections, frame.CodeSlowConsumer, frame.CodeIdleTimeout:
		return true
	}
	return false
}

// opError is an error of one operation ("publish to q"). It prints as
// "swarmmq: publish to q: DESTINATION_FULL: …", dropping the "swarmmq: "
// prefixes of the errors it wraps so that they are said once.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "swarmmq: " + e.op + ": " + strip(e.err.Error())
}

func (e *opError) Unwrap() error { return e.err }

// strip removes the package prefix of an error message.
func strip(msg string) string {
	for _, p := range []string{"swarmmq/client: ", "swarmmq/seal: ", "swarmmq: "} {
		if rest, ok := strings.CutPrefix(msg, p); ok {
			return rest
		}
	}
	return msg
}

// wrapOp wraps err as a failure of op; nil stays nil.
func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}

// causeError is a sentinel with the error that caused it; it prints as
// "sentinel: cause" and matches both with errors.Is and errors.As.
type causeError struct {
	sentinel error
	cause    error
}

func (e *causeError) Error() string {
	return e.sentinel.Error() + ": " + strip(e.cause.Error())
}

func (e *causeError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// withCause returns an error that is sentinel and also wraps cause.
func withCause(sentinel, cause error) error {
	if cause == nil {
		return sentinel
	}
	return &causeError{sentinel: sentinel, cause: cause}
}

// serverError turns an ERROR frame's fields into a *frame.Error.
func serverError(code frame.Code, msg []byte) *frame.Error {
	return &frame.Error{Code: code, Msg: string(msg)}
}

// entryError is the error of a message the node refused with code. When
// the code means that the node and this Client disagree on sealing, the
// error says so and what to do.
func (c *Client) entryError(code frame.Code) *frame.Error {
	fe := &frame.Error{Code: code}
	switch {
	case code == frame.CodeAuthFailed && c.sealer == nil:
		fe.Msg = "the node requires sealed messages and this client sends them unsealed: " +
			"give it the node's keyring (--key-file; Options.Keyring in Go)"
	case code == frame.CodeUnknownKey && c.sealer != nil:
		fe.Msg = "the node does not know the key this client sealed with: " +
			"it runs unsealed (no security.keyring), or its keyring lacks the key; use the node's keyring"
	}
	return fe
}

// requestSpecific reports whether a fatal code was caused by the request
// it answers, so that sending the same bytes again would fail again.
func requestSpecific(c frame.Code) bool {
	switch c {
	case frame.CodeMalformed, frame.CodeTooLarge, frame.CodeUnsupportedVersion,
		frame.CodeUnknownType, frame.CodeHandshakeRequired:
		return true
	}
	return false
}

// ErrPublishFailed is matched (errors.Is) by the *PublishError that
// Publisher.Flush and Close return when messages published without a
// callback were not stored.
var ErrPublishFailed = errors.New("swarmmq/client: messages were not published")

// PublishError reports the messages of a Publisher, published without a
// callback, that failed since the last Flush. It matches ErrPublishFailed
// and, through First, the cause of the first failure (a *frame.Error's
// code, ErrTimeout, ErrClosed, …). A plain value once returned.
type PublishError struct {
	// Failed is how many messages failed.
	Failed int
	// First is the error of the first of them.
	First error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("swarmmq/client: %d messages were not published; the first: %s", e.Failed, strip(e.First.Error()))
}

// Unwrap returns ErrPublishFailed and First.
func (e *PublishError) Unwrap() []error { return []error{ErrPublishFailed, e.First} }
