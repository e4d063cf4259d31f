package wal

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestSecret: a secret is drawn once and the same after a reopen; another
// name is another secret; a stored secret of another size is refused.
func TestSecret(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, memOptions(fs, 4))
	a, err := l.Secret("producer", 32)
	require.NoError(t, err)
	require.Len(t, a, 32)
	require.NotEqual(t, make([]byte, 32), a)
	b, err := l.Secret("other", 32)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.NoError(t, l.Close())

	l = mustOpen(t, memOptions(fs, 4))
	again, err := l.Secret("producer", 32)
	require.NoError(t, err)
	require.Equal(t, a, again, "the secret changed across a reopen")
	_, err = l.Secret("producer", 16)
	require.True(t, IsCorrupt(err), "%v", err)
	require.NoError(t, l.Close())
}
