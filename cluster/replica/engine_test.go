package replica

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/swarmmq/swarmmq/wal"
)

func TestOptionsValidateListsEveryProblem(t *testing.T) {
	o := Options{Groups: []Group{{Partition: 1, Peers: []uint64{2, 0}}, {Partition: 1, Peers: []uint64{3}}, {Partition: 2}}}
	o.EnsureDefaults()
	err := o.Validate()
	for _, want := range []string{"ID must not be 0", "no Log", "no Transport", "no StateMachine",
		"partition 1 listed twice", "partition 1: peer id 0", "partition 2: no peers"} {
		require.ErrorContains(t, err, want)
	}
}

// TestProposeRefusals: the errors Propose returns at once.
func TestProposeRefusals(t *testing.T) {
	e := newEnv(t, 3, 1)
	n1, n2 := e.nodes[0].eng, e.nodes[1].eng
	var nl *NotLeaderError
	require.ErrorAs(t, n1.Propose(0, []byte("x"), nil), &nl)
	require.Equal(t, uint64(0), nl.Leader)

	require.NoError(t, n1.groups[0].rn.Campaign())
	e.stabilize()
	require.ErrorAs(t, n2.Propose(0, []byte("x"), nil), &nl)
	require.Equal(t, NotLeaderError{Partition: 0, Leader: 1, Term: 1}, *nl)
	require.ErrorIs(t, n1.Propose(7, []byte("x"), nil), ErrNoPartition)
	require.ErrorIs(t, n1.Propose(0, nil, nil), ErrEmpty)

	n1.opts.MaxQueuedProposals = 1
	require.NoError(t, n1.Propose(0, []byte("x"), &ackCtx{name: "x"}))
	require.ErrorIs(t, n1.Propose(0, []byte("y"), nil), ErrBusy)
	e.stabilize()

	e.nodes[0].stop()
	require.ErrorIs(t, n1.Propose(0, []byte("z"), nil), ErrStopped)
}

// TestStopFailsPending: a proposal still waiting for its commit when the
// engine stops gets ErrStopped; ProposeWait returns it.
func TestStopFailsPending(t *testing.T) {
	e := newEnv(t, 3, 1)
	n1 := e.nodes[0]
	require.NoError(t, n1.eng.groups[0].rn.Campaign())
	e.stabilize()
	a := &ackCtx{name: "a"}
	require.NoError(t, n1.eng.Propose(0, []byte("a"), a))
	n1.eng.stepAllOnce(t) // appended and sent, never acknowledged
	n1.stop()
	require.ErrorIs(t, a.err, ErrStopped)
	require.Zero(t, a.index)
}

func (e *Engine) stepAllOnce(t *testing.T) {
	t.Helper()
	require.NoError(t, e.step(0))
}

// TestStepQueueBounded: messages beyond MaxQueuedMessages are dropped and
// counted.
func TestStepQueueBounded(t *testing.T) {
	l, err := wal.Open(wal.Options{Dir: "db", FS: vfs.NewMem(), Partitions: 1, MinFree: -1})
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	e, err := New(Options{ID: 1, Log: l, Groups: []Group{{Partition: 0, Peers: []uint64{1, 2}}},
		Transport: &sinkTransport{}, StateMachine: nopSM{}, MaxQueuedMessages: 2})
	require.NoError(t, err)
	for range 5 {
		e.Step(Message{Partition: 0, Msg: &pb.Message{Type: pb.MsgHeartbeat.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(1))}})
	}
	require.Equal(t, uint64(3), e.Stats().Dropped)
	require.NoError(t, e.step(0))
	ld, err := e.Leadership(0)
	require.NoError(t, err)
	require.Equal(t, Leadership{Term: 1, Leader: 2}, ld)
	require.NoError(t, e.Stop(context.Background()))
}

// sinkTransport keeps what is sent.
type sinkTransport struct{ sent []Message }

func (s *sinkTransport) Send(msgs []Message) { s.sent = append(s.sent, msgs...) }

// TestSingleNodeDataRefused: a partition log written by a single node (no
// raft state) is not taken over by the engine.
func TestSingleNodeDataRefused(t *testing.T) {
	l, err := wal.Open(wal.Options{Dir: "db", FS: vfs.NewMem(), Partitions: 1, MinFree: -1})
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	idx := make([]uint64, 1)
	p, err := l.Append([]wal.Entry{{Partition: 0, Data: []byte("r")}}, idx)
	require.NoError(t, err)
	require.NoError(t, p.Wait())
	_, err = New(Options{ID: 1, Log: l, Groups: []Group{{Partition: 0, Peers: []uint64{1}}}, Transport: &chanTransport{}, StateMachine: nopSM{}})
	require.ErrorContains(t, err, "written by a single node")
	isRaft, err := l.IsRaft()
	require.NoError(t, err)
	require.False(t, isRaft)
}
