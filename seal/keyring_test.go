package seal

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewKeyring(t *testing.T) {
	kr, err := NewKeyring(2, testKey(5), testKey(2), testKey(1))
	require.NoError(t, err)
	require.Equal(t, uint32(2), kr.Current())
	require.Equal(t, []uint32{1, 2, 5}, kr.IDs())
	for id, want := range map[uint32]bool{0: false, 1: true, 2: true, 3: false, 5: true, 6: false} {
		require.Equal(t, want, kr.Has(id), "id %d", id)
	}

	// The secrets are copied.
	k := testKey(1)
	kr, err = NewKeyring(1, k)
	require.NoError(t, err)
	sealed, err := testSealer(t, kr).Seal(nil, testHeader(1), []byte("x"))
	require.NoError(t, err)
	k.Secret[0]++
	_, err = kr.Open(nil, testHeader(1), sealed)
	require.NoError(t, err)
}

func TestNewKeyringProblems(t *testing.T) {
	f := func(current uint32, keys []Key, want ...string) {
		t.Helper()
		kr, err := NewKeyring(current, keys...)
		require.Nil(t, kr)
		require.ErrorIs(t, err, ErrInvalidKeyring)
		require.Equal(t, "swarmmq/seal: invalid keyring:\n  "+strings.Join(want, "\n  "), err.Error())
	}
	f(1, nil, "keys: no keys")
	f(0, []Key{testKey(1)}, "current: 0 means unsealed; want the id of a key")
	f(3, []Key{testKey(1), testKey(2)}, "current: key 3 is not among the keys")
	f(1, []Key{testKey(0), testKey(1), testKey(1), testKey(1)},
		"keys[0].id: 0 is reserved for unsealed messages",
		"keys[2].id: duplicate id 1 (also keys[1])",
		"keys[3].id: duplicate id 1 (also keys[1])")
}

// TestNoSecretInFormatting prints keys and keyrings with every verb: the
// secret never shows.
func TestNoSecretInFormatting(t *testing.T) {
	k := testKey(3)
	kr, err := NewKeyring(3, k)
	require.NoError(t, err)
	secretHex := hex.EncodeToString(k.Secret[:])
	for _, v := range []any{k, &k, []Key{k}, kr, *kr, struct{ K Key }{k}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			out := fmt.Sprintf(verb, v)
			require.NotContains(t, strings.ToLower(out), secretHex[:16], "%s of %T: %s", verb, v, out)
			require.NotContains(t, out, string(k.Secret[:8]), "%s of %T", verb, v)
			require.NotContains(t, out, fmt.Sprint(k.Secret[0], k.Secret[1], k.Secret[2]), "%s of %T", verb, v)
		}
	}
	require.Equal(t, "key 3 (fingerprint "+kr.keys[0].fp+")", k.String())
	require.Equal(t, "keyring: current 3; keys 3 (fingerprint "+kr.keys[0].fp+")", kr.String())
}

func TestAppendFile(t *testing.T) {
	kr := testKeyring(t, 9, 1, 4)
	file := kr.AppendFile([]byte("prefix\n"))
	require.True(t, bytes.HasPrefix(file, []byte("prefix\n# SwarmMQ keyring")))
	body := string(file[len("prefix\n"):])
	k1 := testKey(1)
	require.Contains(t, body, "current: 4\nkeys:\n  - id: 1\n    key: hex:"+hex.EncodeToString(k1.Secret[:])+"\n")
	again, err := ParseKeyring([]byte(body))
	require.NoError(t, err)
	require.Equal(t, kr.String(), again.String())
	sealed, err := testSealer(t, kr).Seal(nil, testHeader(4), []byte("x"))
	require.NoError(t, err)
	_, err = again.Open(nil, testHeader(4), sealed)
	require.NoError(t, err, "the same keys")
}

func TestNewKey(t *testing.T) {
	k, err := NewKey(7, &countingReader{})
	require.NoError(t, err)
	require.Equal(t, uint32(7), k.ID)
	require.Equal(t, byte(1), k.Secret[0])
	require.Equal(t, byte(32), k.Secret[31])
	_, err = NewKey(7, &countingReader{fail: true})
	require.ErrorContains(t, err, "no entropy")
	_, err = NewKey(7, strings.NewReader("short"))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}
