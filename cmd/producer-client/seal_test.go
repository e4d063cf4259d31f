package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/seal/keyfile"
)

// newKeyFile generates a keyring file and returns its path and keyring.
func newKeyFile(t *testing.T) (string, *seal.Keyring) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.yaml")
	require.NoError(t, keyfile.Generate(path))
	kr, _, err := keyfile.Read(path)
	require.NoError(t, err)
	return path, kr
}

func TestArgsKeyFile(t *testing.T) {
	f, _, err := parse(t, "-d", "q", "--key-file", "/etc/swarmmq/keyring.yaml")
	require.NoError(t, err)
	require.Equal(t, "/etc/swarmmq/keyring.yaml", f.KeyFile)
	_, help, err := parse(t, "--help")
	require.NoError(t, err)
	require.Contains(t, help, "--key-file=FILE")
}

// TestRunSealed: with --key-file the payloads are sealed with the
// keyring's current key, and a node with the same keyring accepts them.
func TestRunSealed(t *testing.T) {
	path, kr := newKeyFile(t)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(kr)})
	for _, window := range []string{"1", "100"} {
		code, stderr := runArgs(t, s, "", "-d", "q", "-m", "secret", "--count", "3", "--window", window, "--key-file", path)
		require.Equal(t, 0, code, stderr)
		require.NotContains(t, stderr, "warning")
	}
	msgs := s.Messages("q")
	require.Len(t, msgs, 6)
	for i, m := range msgs {
		require.Equal(t, uint32(keyfile.FirstKeyID), m.KeyID)
		require.NotContains(t, string(m.Payload), "secret")
		h := seal.Header{ID: m.ID, Destination: []byte("q"), Producer: m.Producer, Timestamp: m.Timestamp, KeyID: m.KeyID}
		pt, err := kr.Open(nil, h, m.Payload)
		require.NoError(t, err)
		require.Equal(t, []string{"secret-1", "secret-2", "secret-3"}[i%3], string(pt))
	}

	// Without the key file the node refuses the unsealed messages.
	code, stderr := runArgs(t, s, "", "-d", "q", "-m", "plain")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "AUTH_FAILED")
}

func TestRunKeyFileProblems(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	path, _ := newKeyFile(t)
	require.NoError(t, os.Chmod(path, 0o644))
	code, stderr := runArgs(t, s, "", "-d", "q", "-m", "x", "--key-file", path)
	require.Equal(t, 0, code, "a warning only")
	require.Contains(t, stderr, "producer-client: warning: keyring "+path+" has mode 0644, wider than 0600")
	require.Len(t, s.Messages("q"), 1)

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	code, stderr = runArgs(t, s, "", "-d", "q", "-m", "x", "--key-file", missing)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "producer-client: cannot open keyring: open "+missing)

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("current: 0\nkeys: []\n"), 0o600))
	code, stderr = runArgs(t, s, "", "-d", "q", "-m", "x", "--key-file", bad)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "producer-client: keyring "+bad+": swarmmq/seal: invalid keyring:\n  keys: no keys\n  current: 0 means unsealed")
	require.Len(t, s.Messages("q"), 1, "nothing sent")
}
