package stages

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/stages/decode"
	"github.com/swarmmq/swarmmq/stages/fanout"
)

// TestMemberIdleIsTwiceTheLongestPoll ties fanout's default to decode's
// cap on a long poll (docs/admin.md, "Group members", says 10 minutes): a
// consumer in the longest long poll is never forgotten between two polls.
func TestMemberIdleIsTwiceTheLongestPoll(t *testing.T) {
	require.Equal(t, 2*decode.DefaultMaxWait, fanout.DefaultMemberIdle)
}
