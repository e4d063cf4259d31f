package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// TestLimits checks that the Client asks for HELLO_OK's limits and exposes
// them, skipping an ID it does not know; and that a node which does not
// list them (one from before limits) is served as before, with
// Limits().Listed false.
func TestLimits(t *testing.T) {
	s := startServer(t, clienttest.Options{NodeID: "node-3", Credits: 7, MaxFrame: 8192, Record: true,
		Limits: []frame.Limit{
			{ID: frame.LimitIdleTimeoutMS, Value: 1500}, {ID: frame.LimitMaxWaitMS, Value: 300000},
			{ID: 999, Value: 1}, {ID: frame.LimitMaxDeliver, Value: 4}, {ID: frame.LimitMaxMessage, Value: 8160},
			{ID: frame.LimitAckTimeoutMS, Value: 250}, {ID: frame.LimitFetchMax, Value: 10000},
			{ID: frame.LimitMaxProgress, Value: 12},
		}})
	c := dial(t, s, nil)
	hellos := framesOf(s, frame.TypeHello)
	require.Len(t, hellos, 1)
	require.Equal(t, frame.FlagLimits, hellos[0].Flags)
	require.Equal(t, Limits{NodeID: "node-3", MaxFrame: 8192, Credits: 7, Partitions: clienttest.Partitions, Listed: true,
		IdleTimeout: 1500 * time.Millisecond, MaxWait: 5 * time.Minute, MaxDeliver: 4, MaxMessage: 8160,
		AckTimeout: 250 * time.Millisecond, FetchMax: 10000, MaxProgress: 12}, c.Limits())
	require.NoError(t, c.Ping(testCtx(t)))

	old := startServer(t, clienttest.Options{NodeID: "node-4", Credits: 7})
	c = dial(t, old, nil)
	require.Equal(t, Limits{NodeID: "node-4", MaxFrame: frame.DefaultMaxFrame, Credits: 7, Partitions: clienttest.Partitions},
		c.Limits())
	require.NoError(t, c.Ping(testCtx(t)))
}
