package keyfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/seal"
)

const validFile = `current: 2
keys:
  - id: 1
    key: hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
  - id: 2
    key: base64:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=
`

func writeFile(t *testing.T, content string, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode)) // whatever the umask
	return path
}

func TestRead(t *testing.T) {
	path := writeFile(t, validFile, 0o600)
	kr, warnings, err := Read(path)
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.Equal(t, uint32(2), kr.Current())
	require.Equal(t, []uint32{1, 2}, kr.IDs())

	path = writeFile(t, validFile, 0o400)
	_, warnings, err = Read(path)
	require.NoError(t, err)
	require.Empty(t, warnings, "read-only for the owner is fine")
}

func TestReadModeWarning(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o700} {
		path := writeFile(t, validFile, mode)
		kr, warnings, err := Read(path)
		require.NoError(t, err, "a warning, not an error")
		require.NotNil(t, kr)
		require.Len(t, warnings, 1)
		require.Contains(t, warnings[0], fmt.Sprintf("keyring %s has mode %#o, wider than 0600:", path, mode))
	}
	path := writeFile(t, validFile, 0o644)
	_, warnings, _ := Read(path)
	require.Equal(t, "keyring "+path+" has mode 0644, wider than 0600: it holds secret keys; run chmod 600 "+path, warnings[0])
}

func TestReadErrors(t *testing.T) {
	_, _, err := Read(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	_, _, err = Read(t.TempDir())
	require.ErrorContains(t, err, "is not a regular file")

	path := writeFile(t, "current: 3\nkeys: []\n", 0o644)
	_, warnings, err := Read(path)
	require.ErrorIs(t, err, seal.ErrInvalidKeyring)
	require.ErrorContains(t, err, "keyring "+path+": swarmmq/seal: invalid keyring:")
	require.ErrorContains(t, err, "keys: no keys")
	if runtime.GOOS != "windows" {
		require.Len(t, warnings, 1, "warnings come with errors too")
	}

	path = writeFile(t, validFile+strings.Repeat("#", seal.MaxKeyringSize), 0o600)
	_, _, err = Read(path)
	require.ErrorIs(t, err, seal.ErrInvalidKeyring)
	require.ErrorContains(t, err, "larger than")
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.yaml")
	require.NoError(t, Generate(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		require.Equal(t, Mode, fi.Mode().Perm())
	}
	kr, warnings, err := Read(path)
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.Equal(t, uint32(FirstKeyID), kr.Current())
	require.Equal(t, []uint32{FirstKeyID}, kr.IDs())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "# SwarmMQ keyring"), string(data))

	// A second keyring has another key.
	other := filepath.Join(dir, "other.yaml")
	require.NoError(t, Generate(other))
	kr2, _, err := Read(other)
	require.NoError(t, err)
	require.NotEqual(t, kr.String(), kr2.String(), "fingerprints differ")

	// Sealed with one, opened with the file read back.
	s, err := seal.NewSealer(kr, nil)
	require.NoError(t, err)
	h := seal.Header{Destination: []byte("q"), KeyID: s.KeyID()}
	sealed, err := s.Seal(nil, h, []byte("x"))
	require.NoError(t, err)
	again, _, err := Read(path)
	require.NoError(t, err)
	_, err = again.Open(nil, h, sealed)
	require.NoError(t, err)
	_, err = kr2.Open(nil, h, sealed)
	require.ErrorIs(t, err, seal.ErrAuth)
}

func TestGenerateRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.yaml")
	require.NoError(t, os.WriteFile(path, []byte("precious"), 0o600))
	err := Generate(path)
	require.ErrorIs(t, err, fs.ErrExist)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "precious", string(data), "untouched")

	if runtime.GOOS != "windows" {
		link := filepath.Join(dir, "link.yaml")
		target := filepath.Join(dir, "elsewhere.yaml")
		require.NoError(t, os.Symlink(target, link))
		require.ErrorIs(t, Generate(link), fs.ErrExist, "not through a dangling link")
		_, err = os.Stat(target)
		require.ErrorIs(t, err, fs.ErrNotExist)
	}

	require.Error(t, Generate(filepath.Join(dir, "no-such-dir", "k.yaml")))
}
