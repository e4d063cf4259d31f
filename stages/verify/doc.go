// Package verify is the decrypt-verify stage: it checks every published
// message before anything is stored.
//
// A message must carry a correct CRC-32C (else CHECKSUM), flags this
// version knows and, with the HEADERS flag, a header block within the
// rules and bounds of docs/protocol.md §6 (else BAD_HEADERS), and fit in a
// MESSAGES frame (else TOO_LARGE). With a keyring (Options.Keyring) it must
// be sealed with one of its keys and authenticate against its header,
// header block and destination (AES-256-GCM, see package seal): else AUTH_FAILED or
// UNKNOWN_KEY. The node stores the sealed bytes as they came, so data at
// rest is ciphertext. Without a keyring (the logged "unsealed" mode) only
// key id 0 is accepted: a sealed message is UNKNOWN_KEY, since the node
// could not check it. A message that fails is resolved in its
// Request with the error code and never reaches persist; the rest of its
// batch goes on. One goroutine (work.Runner); requests other than PUBLISH
// pass through untouched, in order.
package verify
