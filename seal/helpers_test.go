package seal

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// testKey returns a key whose secret is derived from id, so tests are
// reproducible.
func testKey(id uint32) Key {
	k := Key{ID: id}
	for i := range k.Secret {
		k.Secret[i] = byte(id*31 + uint32(i))
	}
	return k
}

// testKeyring returns a keyring of testKeys with the given ids; the last
// one is current.
func testKeyring(t testing.TB, ids ...uint32) *Keyring {
	t.Helper()
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = testKey(id)
	}
	kr, err := NewKeyring(ids[len(ids)-1], keys...)
	require.NoError(t, err)
	return kr
}

func testSealer(t testing.TB, kr *Keyring) *Sealer {
	t.Helper()
	s, err := NewSealer(kr, nil)
	require.NoError(t, err)
	return s
}

// testHeader returns a header sealed with key id.
func testHeader(keyID uint32) Header {
	return Header{
		ID:          [16]byte{0x01, 0x92, 0xf3, 0xa4, 15: 0x60},
		Destination: []byte("test-queue"),
		Producer:    42,
		Timestamp:   1700000000000000000,
		KeyID:       keyID,
	}
}
