package main

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// TestRunClusterLeaderMoves runs consumer-client with a seed list against
// a fake 3-node cluster whose leader of the destination moves at the 2nd
// and the 4th FETCH a node receives: with the default settings no error
// surfaces and every message is printed.
func TestRunClusterLeaderMoves(t *testing.T) {
	cl, fetches, err := clienttest.StartClusterMovingLeader(3, "q", frame.TypeFetch, 2, 4)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := client.Dial(ctx, client.Options{Addr: cl.Nodes[1].Addr()})
	require.NoError(t, err)
	defer pc.Close()
	const n = 50
	var want strings.Builder
	for i := range n {
		msg := strings.Repeat("x", i+1)
		_, err := pc.Publish(ctx, "q", []byte(msg))
		require.NoError(t, err)
		want.WriteString(msg + "\n")
	}
	seeds := cl.Nodes[0].Addr() + "," + cl.Nodes[2].Addr()
	f, _, err := parse(t, "--node", seeds, "-d", "q", "--count", "50", "--batch", "10")
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	w := bufio.NewWriter(&stdout)
	code := run(ctx, f, w, &stderr, false)
	require.NoError(t, w.Flush())
	require.Equal(t, 0, code, stderr.String())
	require.Equal(t, want.String(), stdout.String())
	require.GreaterOrEqual(t, fetches.Load(), int64(4))
}
