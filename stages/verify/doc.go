// Package verify is the decrypt-verify stage: it checks every published
// message before anything is stored.
//
// Today a message must carry a correct CRC-32C, fit in a MESSAGES frame
// (else TOO_LARGE), and carry key id 0 (unsealed): the
// node has no keyring yet, so a sealed message is answered UNKNOWN_KEY
// rather than stored unverifiable. A message that fails is resolved in its
// Request with the error code and never reaches persist; the rest of its
// batch goes on. One goroutine (work.Runner); requests other than PUBLISH
// pass through untouched, in order.
package verify
