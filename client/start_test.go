package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStart(t *testing.T) {
	at := time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)
	for s, want := range map[string]Start{
		"earliest": StartEarliest(), "latest": StartLatest(), "seq:42": StartAtSeq(42),
		"time:2026-12-05T17:00:00Z": StartAtTime(at),
	} {
		got, err := ParseStart(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
		require.Equal(t, s, got.String())
	}
	for _, bad := range []string{"", "first", "earliest:1", "seq", "seq:0", "seq:x", "time:noon", "time"} {
		_, err := ParseStart(bad)
		require.Error(t, err, bad)
	}
	require.Empty(t, Start{}.String())
}
