package seal

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The test vector of docs/sealing.md, for clients written in other
// languages: a fixed key, nonce source, header and plaintext.
const (
	vectorKey       = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	vectorNonceRand = "a0a1a2a3a4a5a6a7a8a9aaab" // prefix (8 bytes), then counter start (4)
	vectorAAD       = "737761726d6d712f7365616c207631000192f3a4b5c6d7e8f90a1b2c3d4e5f60000a746573742d7175657565000000000000002a17979cfe362a000000000001"
	vectorSealed    = "a0a1a2a3a4a5a6a7a8a9aaabae7d10412aeb51c80317ea9e56becd7b28d6a4374fbabb8f67c519ba57"
)

func vectorHeader() Header {
	id, _ := hex.DecodeString("0192f3a4b5c6d7e8f90a1b2c3d4e5f60")
	return Header{ID: [16]byte(id), Destination: []byte("test-queue"), Producer: 42,
		Timestamp: 1700000000000000000, KeyID: 1}
}

func TestVector(t *testing.T) {
	secret, err := hex.DecodeString(vectorKey)
	require.NoError(t, err)
	kr, err := NewKeyring(1, Key{ID: 1, Secret: [KeySize]byte(secret)})
	require.NoError(t, err)
	nonceRand, err := hex.DecodeString(vectorNonceRand)
	require.NoError(t, err)
	s, err := NewSealer(kr, bytes.NewReader(nonceRand))
	require.NoError(t, err)
	h := vectorHeader()
	require.Equal(t, vectorAAD, hex.EncodeToString(appendAAD(nil, &h)))
	sealed, err := s.Seal(nil, h, []byte("Hello SwarmMQ"))
	require.NoError(t, err)
	t.Logf("sealed: %x", sealed)
	require.Equal(t, vectorSealed, hex.EncodeToString(sealed))
	pt, err := kr.Open(nil, h, sealed)
	require.NoError(t, err)
	require.Equal(t, "Hello SwarmMQ", string(pt))

	// docs/sealing.md states the vector in its hex block: key, additional
	// data, sealed payload, with comments.
	doc, err := os.ReadFile("../docs/sealing.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(doc), "```hex\n")
	require.True(t, ok, "no hex block in docs/sealing.md")
	block, _, _ = strings.Cut(block, "```")
	var digits strings.Builder
	for line := range strings.Lines(block) {
		line, _, _ = strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	require.Equal(t, vectorKey+vectorAAD+vectorSealed, digits.String(), "the vector in docs/sealing.md")
}
