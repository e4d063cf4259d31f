package seal_test

import (
	"errors"
	"fmt"

	"github.com/swarmmq/swarmmq/seal"
)

// A producer seals a payload bound to its message header; a consumer with
// the same keyring opens it. Any change of payload or header fails.
func Example() {
	kr, err := seal.ParseKeyring([]byte(`
current: 2
keys:
  - id: 1
    key: hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
  - id: 2
    key: base64:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=
`))
	if err != nil {
		panic(err)
	}
	s, err := seal.NewSealer(kr, nil) // one per producer; nil: crypto/rand
	if err != nil {
		panic(err)
	}
	h := seal.Header{
		ID:          [16]byte{1, 2, 3},
		Destination: []byte("test-queue"),
		Producer:    42,
		Timestamp:   1700000000000000000,
		KeyID:       s.KeyID(), // and the message's key_id
	}
	sealed, err := s.Seal(nil, h, []byte("Hello SwarmMQ"))
	if err != nil {
		panic(err)
	}
	fmt.Println("key id:", h.KeyID, "sealed bytes:", len(sealed), "=", len("Hello SwarmMQ"), "+", seal.Overhead)

	pt, err := kr.Open(nil, h, sealed)
	fmt.Printf("opened: %q %v\n", pt, err)

	moved := h
	moved.Destination = []byte("other-queue")
	_, err = kr.Open(nil, moved, sealed)
	fmt.Println("moved to another destination:", errors.Is(err, seal.ErrAuth))

	// Dead-lettered: delivered from test-queue.dlq, sealed for test-queue.
	dlq := h
	dlq.Destination = []byte("test-queue.dlq")
	pt, origin, err := kr.OpenDelivery(nil, dlq, sealed)
	fmt.Printf("from the dlq: %q sealed for %s %v\n", pt, origin, err)
	// Output:
	// key id: 2 sealed bytes: 41 = 13 + 28
	// opened: "Hello SwarmMQ" <nil>
	// moved to another destination: true
	// from the dlq: "Hello SwarmMQ" sealed for test-queue <nil>
}

// The node authenticates every published payload without keeping its
// plaintext, reusing one scratch buffer.
func ExampleKeyring_Verify() {
	key := seal.Key{ID: 1}
	kr, err := seal.NewKeyring(1, key) // an all-zero key: for the example only
	if err != nil {
		panic(err)
	}
	s, _ := seal.NewSealer(kr, nil)
	h := seal.Header{Destination: []byte("q"), KeyID: 1}
	sealed, _ := s.Seal(nil, h, []byte("payload"))

	var scratch []byte
	scratch, err = kr.Verify(scratch, h, sealed)
	fmt.Println("authentic:", err)
	sealed[len(sealed)-1] ^= 1
	scratch, err = kr.Verify(scratch, h, sealed)
	fmt.Println("tampered:", err)
	h.KeyID = 7
	_, err = kr.Verify(scratch, h, sealed)
	fmt.Println("unknown key:", err)
	// Output:
	// authentic: <nil>
	// tampered: swarmmq/seal: message authentication failed
	// unknown key: swarmmq/seal: unknown key id
}
