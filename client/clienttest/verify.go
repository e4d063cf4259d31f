package clienttest

import (
	"errors"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// VerifySealed returns an Options.Reject function that checks published
// messages like a node's verify stage with keyring kr: a sealed message
// must open with kr for its destination and header block (else
// AUTH_FAILED; a bad header block is BAD_HEADERS), name a key kr
// has (else UNKNOWN_KEY), and an unsealed one (key id 0) is refused with
// AUTH_FAILED: a node with a keyring stores sealed messages only. The
// function is safe for concurrent use.
func VerifySealed(kr *seal.Keyring) func(dest string, m frame.Message) frame.Code {
	return func(dest string, m frame.Message) frame.Code {
		if m.CheckFlags(0, 0) != nil {
			return frame.CodeBadHeaders
		}
		if m.KeyID == 0 {
			return frame.CodeAuthFailed
		}
		h := seal.Header{ID: m.ID, Destination: []byte(dest), Producer: m.Producer, Timestamp: m.Timestamp, KeyID: m.KeyID,
			Headers: m.Headers}
		_, err := kr.Verify(nil, h, m.Payload)
		switch {
		case err == nil:
			return frame.CodeOK
		case errors.Is(err, seal.ErrUnknownKey):
			return frame.CodeUnknownKey
		default:
			return frame.CodeAuthFailed
		}
	}
}
