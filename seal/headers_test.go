package seal

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
)

// vectorBlock is the header block of the second vector of
// docs/sealing.md: traceparent and content-type.
func vectorBlock() []byte {
	b := frame.StartHeaderBlock(nil)
	b = frame.AppendHeaderField(b, 0, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	return frame.AppendHeaderField(b, 0, "content-type", "text/plain")
}

// TestVectorHeaders: the first vector's message with a header block. The
// additional data is the first vector's with the key_id word's flag set
// and the block appended; the docs state it in their second hex block.
func TestVectorHeaders(t *testing.T) {
	secret, err := hex.DecodeString(vectorKey)
	require.NoError(t, err)
	kr, err := NewKeyring(1, Key{ID: 1, Secret: [KeySize]byte(secret)})
	require.NoError(t, err)
	nonceRand, err := hex.DecodeString(vectorNonceRand)
	require.NoError(t, err)
	s, err := NewSealer(kr, bytes.NewReader(nonceRand))
	require.NoError(t, err)
	h := vectorHeader()
	h.Headers = vectorBlock()
	aad := appendAAD(nil, &h)
	plainAAD, _ := hex.DecodeString(vectorAAD)
	require.Equal(t, plainAAD[:len(plainAAD)-4], aad[:len(plainAAD)-4], "same up to key_id")
	require.Equal(t, []byte{0x01, 0, 0, 1}, aad[len(plainAAD)-4:len(plainAAD)], "key_id word with FlagHeaders")
	require.Equal(t, h.Headers, aad[len(plainAAD):])
	sealed, err := s.Seal(nil, h, []byte("Hello SwarmMQ"))
	require.NoError(t, err)
	pt, err := kr.Open(nil, h, sealed)
	require.NoError(t, err)
	require.Equal(t, "Hello SwarmMQ", string(pt))

	doc, err := os.ReadFile("../docs/sealing.md")
	require.NoError(t, err)
	blocks := strings.Split(string(doc), "```hex\n")
	require.Len(t, blocks, 3, "docs/sealing.md: two hex blocks")
	block, _, _ := strings.Cut(blocks[2], "```")
	var digits strings.Builder
	for line := range strings.Lines(block) {
		line, _, _ = strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	require.Equal(t, hex.EncodeToString(aad)+hex.EncodeToString(sealed), digits.String(),
		"the vector with headers in docs/sealing.md")
}

// TestHeadersBound: a sealed payload opens only with the header block it
// was sealed with: a changed byte, a field added, dropped or reordered,
// and the block removed or added all fail with ErrAuth, in Open, Verify
// and OpenDelivery. A message without headers keeps the additional data
// it had before headers existed (TestVector's golden vector).
func TestHeadersBound(t *testing.T) {
	kr := testKeyring(t, 7)
	s := testSealer(t, kr)
	h := testHeader(7)
	h.Headers = vectorBlock()
	sealed, err := s.Seal(nil, h, []byte("payload"))
	require.NoError(t, err)
	pt, err := kr.Open(nil, h, sealed)
	require.NoError(t, err)
	require.Equal(t, "payload", string(pt))
	_, err = kr.Verify(nil, h, sealed)
	require.NoError(t, err)

	flipped := bytes.Clone(h.Headers)
	flipped[len(flipped)-1] ^= 0x20 // text/plain -> text/plaiN
	reordered := frame.AppendHeaderField(frame.StartHeaderBlock(nil), 0, "content-type", "text/plain")
	reordered = frame.AppendHeaderField(reordered, 0, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	added := frame.AppendHeaderField(bytes.Clone(h.Headers), 0, "x", "y")
	dropped := frame.AppendHeaderField(frame.StartHeaderBlock(nil), 0, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	for name, hb := range map[string][]byte{
		"flipped": flipped, "reordered": reordered, "added": added, "dropped": dropped, "removed": nil,
	} {
		o := h
		o.Headers = hb
		_, err := kr.Open(nil, o, sealed)
		require.ErrorIs(t, err, ErrAuth, name)
		_, err = kr.Verify(nil, o, sealed)
		require.ErrorIs(t, err, ErrAuth, name)
		_, _, err = kr.OpenDelivery(nil, o, sealed)
		require.ErrorIs(t, err, ErrAuth, name)
	}

	// Sealed without headers: a block added on the way fails.
	plain := testHeader(7)
	sealed, err = s.Seal(nil, plain, []byte("payload"))
	require.NoError(t, err)
	withBlock := plain
	withBlock.Headers = vectorBlock()
	_, err = kr.Open(nil, withBlock, sealed)
	require.ErrorIs(t, err, ErrAuth)
	_, err = kr.Open(nil, plain, sealed)
	require.NoError(t, err)
}

// TestHeadersNoAlloc: Seal, Open and Verify with a header block allocate
// nothing once their buffers are large enough.
func TestHeadersNoAlloc(t *testing.T) {
	kr := testKeyring(t, 7)
	s := testSealer(t, kr)
	h := testHeader(7)
	h.Headers = vectorBlock()
	pt := bytes.Repeat([]byte("x"), 128)
	buf := make([]byte, 0, 1024)
	out := make([]byte, 0, 1024)
	var scratch []byte
	sealed, err := s.Seal(buf, h, pt)
	require.NoError(t, err)
	sealed = bytes.Clone(sealed)
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = s.Seal(buf[:0], h, pt)
		_, _ = kr.Open(out[:0], h, sealed)
		scratch, _ = kr.Verify(scratch, h, sealed)
	})
	require.Zero(t, allocs)
}
