// Package seal seals message payloads with AES-256-GCM: the client library
// seals each payload before it publishes and opens each delivery; the
// node's verify stage authenticates every published message against its
// keyring and stores the sealed bytes, so data at rest is ciphertext.
//
// # Goroutines, stopping and concurrency
//
// seal is a pure library like frame: no goroutines, timers or I/O (reading
// and writing keyring files is package seal/keyfile's), so there is
// nothing to stop. A Keyring is immutable and safe for concurrent use; a
// Sealer is safe for concurrent use. Randomness is injected (NewSealer,
// NewKey) and defaults to crypto/rand.
//
// # Keys
//
// A keyring holds AES-256 keys by id (a u32 of at least 1: key id 0 on the
// wire means "not sealed") and names one of them current: the key new
// payloads are sealed with. The other keys open what they sealed before.
// Rotation is adding a key with a new id and making it current. The file
// format is ParseKeyring's; docs/sealing.md describes it and the rollout
// of a new key.
//
// # Sealed payload
//
// A sealed payload replaces the plaintext in the message's payload field
// and is Overhead (28) bytes longer:
//
//	0         12                          12+n                  28+n
//	+---------+---------------------------+---------------------+
//	| nonce   | ciphertext                | tag                 |
//	| 12 B    | n bytes (n = plaintext)   | 16 B (GCM)          |
//	+---------+---------------------------+---------------------+
//
// The GCM additional data binds the message header, so that a payload
// cannot be moved to another message id, destination, producer,
// timestamp or key id without Open failing with ErrAuth:
//
//	0                 16        32      34             34+d      42+d        50+d     54+d
//	+-----------------+---------+-------+--------------+---------+-----------+--------+
//	| "swarmmq/seal   | id      | d u16 | destination  | producer| timestamp | key_id |
//	|  v1\x00"        | [16]    |       | d bytes      | u64     | i64       | u32    |
//	+-----------------+---------+-------+--------------+---------+-----------+--------+
//
// With a header block (Header.Headers), key_id is the message's key_id word
// with frame.FlagHeaders in its top byte and the block follows, as on the
// wire; without one the additional data is the above, byte for byte, so
// payloads sealed before headers existed still open. The block is
// authenticated, never encrypted.
//
// Integers are big-endian. The domain string keeps the tags of this layout
// apart from any other use of the key. The CRC-32C of the message covers
// the sealed bytes and is not part of the additional data.
//
// # Nonces
//
// Each Sealer draws a random 64-bit prefix and a random 32-bit counter
// start, and counts; after 2^32 nonces it draws again. Nonces never repeat
// within a Sealer; across Sealers (producers, restarts) the chance of any
// repeat under one key stays below E·N/2^96 for E Sealer epochs and N
// messages (see Sealer).
//
// # Errors
//
// Open and Verify fail with ErrAuth (altered payload, wrong key material
// under that id, wrong header) or ErrUnknownKey (no key with that id); the
// tag is checked by GCM in constant time and never compared here. A failed
// Open releases no plaintext.
//
// # Dead letters
//
// A message dead-lettered from "q" to "q.dlq" keeps its bytes, so it is
// still bound to "q": Open must be given the original destination.
// OpenDelivery tries the delivery's destination, then the names without
// each trailing ".dlq".
//
// # Allocations
//
// Seal, Open and Verify build the additional data in the spare capacity of
// the caller's buffer (the cipher.AEAD interface makes any buffer it is
// handed escape), so with a reused buffer none of them allocates; Verify
// takes and returns its scratch buffer for that purpose.
package seal
