package rlog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRaftIDStableAndNonZero(t *testing.T) {
	// Pinned: every node of a cluster, of any build, must compute the same.
	f := func(id string, inc uint16, want uint64) {
		t.Helper()
		got := RaftID(id, inc)
		require.Equal(t, want, got, "RaftID(%q, %d)", id, inc)
		require.Equal(t, inc, IncarnationOf(got))
		require.Equal(t, nodeKey(id), keyOf(got))
	}
	f("node-1", 0, 0x35971be6e9bb0000) // SHA-256("node-1") starts 35971be6e9bb
	f("node-1", 1, 0x35971be6e9bb0001)
	f("node-1", 0xFFFF, 0x35971be6e9bbFFFF)
	require.NotEqual(t, keyOf(RaftID("node-1", 0)), keyOf(RaftID("node-2", 0)))
	require.NotZero(t, RaftID("", 0))
}

func TestCheckIDsRefusesDuplicates(t *testing.T) {
	require.NoError(t, CheckIDs([]string{"n1", "n2", "n3"}))
	err := CheckIDs([]string{"n1", "n2", "n1"})
	require.ErrorContains(t, err, `node id "n1" listed twice`)
}
