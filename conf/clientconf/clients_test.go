package clientconf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/seal/keyfile"
)

func TestLoadKeyring(t *testing.T) {
	kr, warnings, err := LoadKeyring("")
	require.NoError(t, err)
	require.Nil(t, kr, "no --key-file: unsealed")
	require.Empty(t, warnings)

	path := filepath.Join(t.TempDir(), "keyring.yaml")
	require.NoError(t, keyfile.Generate(path))
	kr, warnings, err = LoadKeyring(path)
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.Equal(t, uint32(keyfile.FirstKeyID), kr.Current())

	require.NoError(t, os.Chmod(path, 0o644))
	kr, warnings, err = LoadKeyring(path)
	require.NoError(t, err)
	require.NotNil(t, kr)
	require.Len(t, warnings, 1)

	require.NoError(t, os.WriteFile(path, []byte("keys: []"), 0o600))
	_, _, err = LoadKeyring(path)
	require.ErrorIs(t, err, seal.ErrInvalidKeyring)
}

func TestKeyFileFlags(t *testing.T) {
	p := ProducerFlags{KeyFile: "k.yaml", Window: 1, Batch: 1, Timeout: 1}
	require.NoError(t, p.Validate())
	require.Nil(t, p.ClientOptions(nil).Keyring, "loaded by the command, not here")
	c := ConsumerFlags{KeyFile: "k.yaml", Batch: 1}
	require.NoError(t, c.Validate())
	require.Nil(t, c.ClientOptions(nil).Keyring)
}
