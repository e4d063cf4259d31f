package client

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
)

// TestClusterPublisherAsksUntilLeader: the Client's table names no leader
// for a Publisher's partition (it was fetched during an election, or from
// a node cut off from the leader), and nothing else the Client does fails:
// no request is parked, no link is lost. The Publisher must not wait for
// such an event: the Client asks again until a table names the leader, and
// the messages are published. Before, its messages waited for the next
// unrelated failure: 26 and 44 s in a chaos run (CHAOS_SEED=33).
func TestClusterPublisherAsksUntilLeader(t *testing.T) {
	cl := startCluster(t, 2, clienttest.Options{})
	d := destLedBy(t, cl, 0)
	part := cl.Partition(d)
	cl.SetLeader(part, -1)
	c := dialSeeds(t, cl.Nodes[1].Addr(), nil)
	p := mustPublisher(t, c, d, PublisherOptions{})
	var col collector
	for range 10 {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	}
	cl.SetLeader(part, 0) // nothing tells the Client: it must ask
	ctx, cancel := context.WithTimeout(testCtx(t), 5*time.Second)
	defer cancel()
	require.NoError(t, p.Close(ctx), "the Publisher never learnt its partition's leader")
	res := col.get()
	require.Len(t, res, 10)
	for i, r := range res {
		require.NoError(t, r.Err)
		require.Equal(t, uint64(i+1), r.Seq)
	}
}
