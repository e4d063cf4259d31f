package replica

import (
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"
)

// TestSnapshotBuildDoesNotHoldTheLoop: the leader's builder is stopped
// inside the build of the payload a lagging replica needs (on a goroutine
// of its own, blocked on a channel); meanwhile the leader's loop goes on
// committing both partitions it leads, the lagging replica included in the
// one that needs no snapshot. Released, the payload is sent at the next
// heartbeat and the replica restores it. (With the payload built in
// Storage.Snapshot, as before, the loop itself would wait for the read.)
func TestSnapshotBuildDoesNotHoldTheLoop(t *testing.T) {
	e := newEnv(t, 3, 2)
	e.keep, e.every, e.hold = 2, 2, true
	n1, n2, n3 := e.nodes[0], e.nodes[1], e.nodes[2]
	for p := range uint32(2) {
		require.NoError(t, n1.eng.groups[p].rn.Campaign())
	}
	e.stabilize()
	for _, a := range [][2]uint64{{1, 3}, {2, 3}} {
		e.cut[a], e.cut[[2]uint64{a[1], a[0]}] = true, true
	}
	for _, d := range []string{"a", "b", "c", "d"} {
		require.NoError(t, n1.eng.Propose(0, []byte(d), &ackCtx{name: d}))
	}
	require.NoError(t, n1.eng.Propose(1, []byte("x"), &ackCtx{name: "x"}))
	e.stabilize()
	clear(e.cut)
	n1.step(1) // n3 answers the heartbeat: p0 needs a snapshot, p1 entries
	e.deliver()
	e.stabilize()
	n1.eng.bq.Lock()
	require.Len(t, n1.eng.bq.reqs, 1, "the leader asked for no payload")
	n1.eng.bq.Unlock()

	entered, release, built := make(chan uint32), make(chan struct{}), make(chan int)
	n1.eng.buildHook = func(p uint32) {
		entered <- p
		<-release
	}
	go func() { built <- n1.eng.buildPending() }()
	require.Equal(t, uint32(0), <-entered)

	acks := []*ackCtx{{name: "e"}, {name: "y"}}
	require.NoError(t, n1.eng.Propose(0, []byte("e"), acks[0]))
	require.NoError(t, n1.eng.Propose(1, []byte("y"), acks[1]))
	e.stabilize()
	for range 3 {
		n1.step(1)
		e.deliver()
		e.stabilize()
	}
	for _, a := range acks {
		require.NotZero(t, a.index, "%s not applied while the builder is busy", a.name)
	}
	require.Equal(t, n1.eng.groups[0].applied, n2.eng.groups[0].applied)
	require.Equal(t, n1.eng.groups[1].applied, n3.eng.groups[1].applied, "p1 did not reach n3")
	require.Zero(t, n3.eng.groups[0].st.snapIndex, "n3 restored a snapshot not built yet")

	close(release)
	require.Equal(t, 1, <-built)
	n1.step(1) // installs the payload; the heartbeat's answer sends it
	e.deliver()
	e.stabilize()
	require.Equal(t, n1.eng.groups[0].applied, n3.eng.groups[0].applied)
	require.NotZero(t, n3.eng.groups[0].st.snapIndex, "n3 got no snapshot")
}

// TestStaleBuildIsDropped: a payload built for a snapshot that a
// compaction has replaced meanwhile is not installed (and not even built:
// the stored snapshot is no longer the one asked for); raft's next attempt
// asks for the new one, and the replica gets that.
func TestStaleBuildIsDropped(t *testing.T) {
	e := newEnv(t, 3, 1)
	e.keep, e.every, e.hold = 1, 1, true
	n1, n3 := e.nodes[0], e.nodes[2]
	require.NoError(t, n1.eng.groups[0].rn.Campaign())
	e.stabilize()
	e.cut[[2]uint64{1, 3}], e.cut[[2]uint64{3, 1}] = true, true
	require.NoError(t, n1.eng.Propose(0, []byte("a"), &ackCtx{name: "a"}))
	require.NoError(t, n1.eng.Propose(0, []byte("b"), &ackCtx{name: "b"}))
	e.stabilize()
	clear(e.cut)
	n1.step(1)
	e.deliver()
	e.stabilize()
	n1.eng.bq.Lock()
	require.Len(t, n1.eng.bq.reqs, 1)
	old := n1.eng.bq.reqs[0]
	n1.eng.bq.Unlock()

	// A compaction replaces the snapshot before the payload is built.
	require.NoError(t, n1.eng.Propose(0, []byte("c"), &ackCtx{name: "c"}))
	e.stabilize()
	g := n1.eng.groups[0]
	require.Greater(t, g.st.snapIndex, old.index)
	_, err := buildSnapshot(n1.log, old)
	require.ErrorIs(t, err, errStale)
	g.st.install(built{req: old, snap: &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(old.index)}}})
	require.Nil(t, g.st.ready, "a payload for a replaced snapshot was installed")

	e.hold = false
	for range 3 {
		n1.step(1)
		e.deliver()
		e.stabilize()
	}
	require.Equal(t, g.applied, n3.eng.groups[0].applied)
	require.Equal(t, g.st.snapIndex, n3.eng.groups[0].st.snapIndex)
}
