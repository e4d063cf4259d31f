package wal

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestMetaValue: a value survives a reopen, nil deletes it, names are
// apart from one another and from the secrets.
func TestMetaValue(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, memOptions(fs, 4))
	_, ok, err := l.Meta("sealing/mode")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, l.SetMeta("sealing/mode", []byte{1}))
	require.NoError(t, l.SetMeta("other", []byte("x")))
	_, err = l.Secret("sealing/mode", 8)
	require.NoError(t, err)
	require.NoError(t, l.Close())

	l = mustOpen(t, memOptions(fs, 4))
	v, ok, err := l.Meta("sealing/mode")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte{1}, v)
	require.NoError(t, l.SetMeta("sealing/mode", nil))
	_, ok, err = l.Meta("sealing/mode")
	require.NoError(t, err)
	require.False(t, ok)
	v, ok, err = l.Meta("other")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte("x"), v)
	require.NoError(t, l.Close())
}
