package replica

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"
)

// TestHandOffReturnsOnceNoneLed: HandOff waits, on another goroutine,
// while the loop transfers both partitions; it returns nil once the node
// leads neither, and the node never takes one back while the others are
// quiet (it does not tick the partitions it follows).
func TestHandOffReturnsOnceNoneLed(t *testing.T) {
	e := newEnv(t, 3, 2)
	n1 := e.nodes[0]
	for p := range uint32(2) {
		require.NoError(t, n1.eng.groups[p].rn.Campaign())
	}
	e.stabilize()
	res := make(chan error, 1)
	go func() { res <- n1.eng.HandOff(context.Background()) }()
	err := waitStepping(t, res, func() {
		e.stepAll(0)
		e.deliver()
	})
	require.NoError(t, err)
	for p := range uint32(2) {
		require.NotZero(t, e.leader(p))
		require.NotEqual(t, uint64(1), e.leader(p))
	}
	for range 4 * DefaultElectionTicks {
		n1.step(1) // only n1 ticks: a follower that ticked would campaign
		e.deliver()
	}
	for p := range uint32(2) {
		require.Equal(t, raft.StateFollower, n1.eng.groups[p].rn.BasicStatus().RaftState)
	}
}

// TestHandOffRightAfterAQuorumCheck: at each election timeout the
// leader's quorum check (CheckQuorum) marks every follower inactive until
// its next response; a hand-off asked in between does not conclude that
// no follower can take the partition (HandOff would return with the node
// still leading it), it waits for the responses and transfers.
func TestHandOffRightAfterAQuorumCheck(t *testing.T) {
	e := newEnv(t, 3, 1)
	n1 := e.nodes[0]
	g := n1.eng.groups[0]
	require.NoError(t, g.rn.Campaign())
	e.stabilize()
	active := func() bool {
		for id, pr := range g.rn.Status().Progress {
			if id != n1.id && pr.RecentActive {
				return true
			}
		}
		return false
	}
	for i := 0; active(); i++ { // n1 alone ticks, its heartbeats held
		require.Less(t, i, 4*DefaultElectionTicks, "the quorum check never cleared RecentActive")
		n1.step(1)
	}
	n1.eng.requestHandOff()
	n1.step(0)
	require.False(t, g.noHeir.Load(), "no follower heard since the quorum check: no heir concluded")
	for i := 0; e.leader(0) == n1.id || e.leader(0) == 0; i++ {
		require.Less(t, i, 100, "no transfer: %s", e.status())
		e.deliver()
		e.stepAll(0)
		n1.step(1)
	}
}

// TestHandOffEndsWithItsContext: a transfer that cannot finish (its
// target went down) keeps the leadership; HandOff returns when its ctx
// ends.
func TestHandOffEndsWithItsContext(t *testing.T) {
	e := newEnv(t, 3, 1)
	n1 := e.nodes[0]
	require.NoError(t, n1.eng.groups[0].rn.Campaign())
	e.stabilize()
	e.nodes[1].stop()
	e.nodes[2].stop()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- n1.eng.HandOff(ctx) }()
	n1.step(0)
	n1.step(0)
	cancel()
	require.ErrorIs(t, <-res, context.Canceled)
	require.Equal(t, raft.StateLeader, n1.eng.groups[0].rn.BasicStatus().RaftState)
}

// TestHeldProposalProposedWhenTransferGivenUp: a transfer whose target is
// cut off is given up by raft after an election timeout; the proposal
// held meanwhile is then proposed and commits with the third replica, and
// a later transfer goes to that replica (the cut one is no longer
// active).
func TestHeldProposalProposedWhenTransferGivenUp(t *testing.T) {
	e := newEnv(t, 3, 1)
	n1 := e.nodes[0]
	require.NoError(t, n1.eng.groups[0].rn.Campaign())
	e.stabilize()
	n1.eng.requestHandOff()
	e.cut[[2]uint64{1, 2}], e.cut[[2]uint64{2, 1}] = true, true
	n1.step(0)
	require.Equal(t, uint64(2), n1.eng.groups[0].rn.BasicStatus().LeadTransferee)
	z := &ackCtx{name: "z"}
	require.NoError(t, n1.eng.Propose(0, []byte("z"), z))
	n1.step(0)
	require.Len(t, n1.eng.groups[0].held, 1)
	for range 4 * DefaultElectionTicks {
		n1.step(1)
		e.deliver()
		e.stabilize()
	}
	require.NoError(t, z.err)
	require.NotZero(t, z.index, "the held proposal was not committed")
	require.Equal(t, uint64(3), e.leader(0))
}

// TestHandOffOfASingleReplica: a partition with no other replica keeps
// its leader, and HandOff returns at once rather than at its ctx's end.
func TestHandOffOfASingleReplica(t *testing.T) {
	e := newEnv(t, 1, 2)
	n1 := e.nodes[0]
	for p := range uint32(2) {
		require.NoError(t, n1.eng.groups[p].rn.Campaign())
	}
	for range 4 {
		n1.step(0) // its vote for itself, its own entry: one Ready each
	}
	for p := range uint32(2) {
		ld, err := n1.eng.Leadership(p)
		require.NoError(t, err)
		require.True(t, ld.Serving, "p%d: %s", p, e.status())
	}
	res := make(chan error, 1)
	go func() { res <- n1.eng.HandOff(context.Background()) }()
	err := waitStepping(t, res, func() { n1.step(1) })
	require.NoError(t, err)
	for p := range uint32(2) {
		require.Equal(t, uint64(1), e.leader(p))
	}
}

// TestRestartedReplicaCampaignsOnlyOnceApplied: a replica restarted with
// committed entries it has not applied yet does not tick, so it cannot
// campaign (and, elected, keep the partition waiting for its replay);
// once it has applied them it does.
func TestRestartedReplicaCampaignsOnlyOnceApplied(t *testing.T) {
	e := newEnv(t, 3, 1)
	require.NoError(t, e.nodes[0].eng.groups[0].rn.Campaign())
	e.stabilize()
	for _, d := range []string{"a", "b", "c"} {
		require.NoError(t, e.nodes[0].eng.Propose(0, []byte(d), &ackCtx{name: d}))
	}
	e.stabilize()
	n2 := e.nodes[1]
	n2.stop()
	for _, nd := range e.nodes {
		if nd != n2 {
			e.cut[[2]uint64{2, nd.id}], e.cut[[2]uint64{nd.id, 2}] = true, true
		}
	}
	n2.start()
	g := n2.eng.groups[0]
	require.Less(t, g.applied, g.startCommit)
	// Ticks are taken before the Ready that applies the log: these are
	// not ticked, though far past any election timeout.
	n2.step(4 * DefaultElectionTicks)
	require.Equal(t, g.startCommit, g.applied)
	require.Equal(t, raft.StateFollower, g.rn.BasicStatus().RaftState)
	n2.step(4 * DefaultElectionTicks)
	require.Equal(t, raft.StatePreCandidate, g.rn.BasicStatus().RaftState)
}

// waitStepping calls step until res has HandOff's result, at most 10,000
// times.
func waitStepping(t *testing.T, res <-chan error, step func()) error {
	t.Helper()
	for range 10000 {
		select {
		case err := <-res:
			return err
		default:
			step()
		}
	}
	t.Fatal("HandOff did not return")
	return nil
}
