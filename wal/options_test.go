package wal

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSyncPolicy(t *testing.T) {
	f := func(in string, want SyncPolicy, wantErr bool) {
		t.Helper()
		got, err := ParseSyncPolicy(in)
		if wantErr {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, in, got.String())
		var u SyncPolicy
		require.NoError(t, u.UnmarshalText([]byte(in)))
		require.Equal(t, want, u)
		text, err := got.MarshalText()
		require.NoError(t, err)
		require.Equal(t, in, string(text))
	}
	f("always", SyncAlways, false)
	f("interval", SyncInterval, false)
	f("", 0, true)
	f("Always", 0, true)
	f("never", 0, true)
	require.Equal(t, "SyncPolicy(7)", SyncPolicy(7).String())
	_, err := SyncPolicy(7).MarshalText()
	require.Error(t, err)
}

func TestOptionsEnsureDefaults(t *testing.T) {
	var o Options
	o.EnsureDefaults()
	require.NotNil(t, o.FS)
	require.NotNil(t, o.Metrics)
	require.NotNil(t, o.Logger)
	require.Equal(t, uint32(DefaultPartitions), o.Partitions)
	require.Equal(t, SyncAlways, o.Sync)
	require.Equal(t, DefaultSyncInterval, o.SyncInterval)
	require.Equal(t, uint64(DefaultMemTableSize), o.MemTableSize)
	require.Error(t, o.Validate(), "Dir has no default")
	o.Dir = "data"
	require.NoError(t, o.Validate())
}

func TestOptionsValidateListsEveryProblem(t *testing.T) {
	o := Options{
		Partitions:   MaxPartitions + 1,
		Sync:         SyncPolicy(9),
		SyncInterval: time.Microsecond,
		MemTableSize: 1,
	}
	err := o.Validate()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"Dir is required", "Partitions is 65537", "Sync is SyncPolicy(9)", "SyncInterval is 1µs", "MemTableSize is 1"} {
		require.Contains(t, msg, want)
	}
	require.Len(t, strings.Split(msg, "\n"), 5)

	require.NoError(t, Options{Dir: "d"}.Validate(), "zero values mean defaults")
	require.ErrorContains(t, Options{Dir: "d", SyncInterval: -time.Second}.Validate(), "SyncInterval")
	require.ErrorContains(t, Options{Dir: "d", MemTableSize: MaxMemTableSize}.Validate(), "MemTableSize")
	require.ErrorContains(t, Options{Dir: "d", MinFree: 16 << 20}.Validate(), "MinFree is 16777216, want at least twice MemTableSize (33554432)")
	require.NoError(t, Options{Dir: "d", MinFree: 2 << 20, MemTableSize: 1 << 20}.Validate())
	require.NoError(t, Options{Dir: "d", MinFree: -1}.Validate(), "no reserve")

	_, err = Open(o)
	require.ErrorContains(t, err, "Dir is required")
}
