package work

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
)

// TestResolveCountsEachMessageOnce: a message is resolved by Resolve, not by
// what its result holds (an OK answer with seq 0 is an answer too), and
// resolving it again does not count it twice.
func TestResolveCountsEachMessageOnce(t *testing.T) {
	r := NewRequest(KindPublish, netio.Inbound{})
	defer r.Release()
	r.StartResults(4)
	require.Equal(t, 4, r.Unresolved())
	r.Resolve(0, frame.AckEntry{Code: frame.CodeChecksum})
	r.Resolve(1, frame.AckEntry{}) // an OK answer with seq 0
	r.Resolve(1, frame.AckEntry{Flags: frame.FlagDuplicate, Seq: 9})
	require.Equal(t, 2, r.Unresolved())
	require.True(t, r.Resolved(0))
	require.True(t, r.Resolved(1))
	require.False(t, r.Resolved(2))
	require.Equal(t, frame.AckEntry{Flags: frame.FlagDuplicate, Seq: 9}, r.Results[1])

	r.StartResults(2) // reused: everything open again
	require.Equal(t, 2, r.Unresolved())
	require.False(t, r.Resolved(0))
	require.Equal(t, frame.AckEntry{}, r.Results[0])
}
