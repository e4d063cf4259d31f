package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// TestRunClusterLeaderMoves runs producer-client with a seed list against
// a fake 3-node cluster whose leader of the destination moves twice while
// it publishes (at the 3rd and the 6th PUBLISH a node receives): with the
// default settings no error surfaces and every message is stored once.
func TestRunClusterLeaderMoves(t *testing.T) {
	cl, pubs, err := clienttest.StartClusterMovingLeader(3, "q", frame.TypePublish, 3, 6)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	seeds := cl.Nodes[2].Addr() + "," + cl.Nodes[0].Addr()
	f, _, err := parse(t, "--node", seeds, "-d", "q", "-m", "m", "--count", "3000", "--batch", "64")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, f, env{stdin: strings.NewReader(""), stderr: &stderr})
	require.Equal(t, 0, code, stderr.String())
	require.Contains(t, stderr.String(), "sent 3000, acked 3000, duplicates ")
	require.Contains(t, stderr.String(), ", failed 0")
	require.GreaterOrEqual(t, pubs.Load(), int64(6))
	require.Len(t, cl.Nodes[0].Messages("q"), 3000, "stored once")
}
