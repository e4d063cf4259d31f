package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestArgsFrom: --from takes earliest, latest, seq:N or time:RFC3339, and
// names what is wrong otherwise.
func TestArgsFrom(t *testing.T) {
	for _, ok := range []string{"earliest", "latest", "seq:7", "time:2026-12-05T17:00:00Z"} {
		f, _, err := parse(t, "-d", "q", "--from", ok)
		require.NoError(t, err, ok)
		require.Equal(t, ok, f.From)
	}
	_, _, err := parse(t, "-d", "q", "--from", "seq:0")
	require.ErrorContains(t, err, `--from: start "seq:0": want seq:N with N from 1`)
	_, _, err = parse(t, "-d", "q", "--from", "yesterday")
	require.ErrorContains(t, err, `--from: start "yesterday": want earliest, latest, seq:N or time:RFC3339`)
}
