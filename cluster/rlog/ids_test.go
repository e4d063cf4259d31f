package rlog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRaftIDStableAndNonZero(t *testing.T) {
	// Pinned: every node of a cluster, of any build, must compute the same.
	require.Equal(t, uint64(0x35971be6e9bb024a), RaftID("node-1"), "the first 8 bytes of SHA-256(\"node-1\")")
	require.NotEqual(t, RaftID("node-1"), RaftID("node-2"))
	require.NotZero(t, RaftID(""))
}

func TestCheckIDsRefusesDuplicates(t *testing.T) {
	require.NoError(t, CheckIDs([]string{"n1", "n2", "n3"}))
	err := CheckIDs([]string{"n1", "n2", "n1"})
	require.ErrorContains(t, err, `node id "n1" listed twice`)
}
