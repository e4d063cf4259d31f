package rlog

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHandOffBeforeStop: three members on real peer links; the leader of
// partition 0 hands off the partitions it leads (Log.HandOff) and then
// stops cleanly. HandOff returns with none left led there; the member that
// took each serves it with every proposal the old leader acked applied,
// and goes on acking.
func TestHandOffBeforeStop(t *testing.T) {
	ms := startCluster(t, []string{"n1", "n2", "n3"}, 2)
	old := leader(t, ms, 0, nil)
	var led []uint32
	acked := map[uint32][]uint64{}
	for p := range uint32(2) {
		if leader(t, ms, p, nil) == old {
			led = append(led, p)
			propose(t, old, p, 1, 51)
			acked[p] = waitAcked(t, old, p, 50)
		}
	}
	left, err := old.log.HandOff(context.Background())
	require.NoError(t, err)
	require.Zero(t, left)
	for _, p := range led {
		require.NotEqual(t, old.id, old.owners.Load().Leader(p).ID, "partition %d still names the old leader", p)
		require.False(t, old.owners.Load().Leads(p))
	}
	old.stop(t)
	for _, p := range led {
		now := leader(t, ms, p, old)
		now.mu.Lock()
		promoted := now.mu.promoted[p]
		now.mu.Unlock()
		require.Subset(t, promoted, acked[p], "the new leader served before applying what the old one acked")
		propose(t, now, p, 51, 61)
		require.Subset(t, waitAcked(t, now, p, 10), []uint64{51, 60})
	}
}
