package rlog

import (
	"errors"
	"sync"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
)

// fifoLog is a Log without an engine: the test plays the engine through
// the machine's methods.
func fifoLog(t *testing.T) (*Log, *graph.Ring[plog.Output]) {
	owners, err := owner.New(1, 1)
	require.NoError(t, err)
	out := graph.NewRing[plog.Output](64)
	l := &Log{deps: Deps{Deps: plog.Deps{Out: []*graph.Ring[plog.Output]{out}, Owners: owners}},
		parts: map[uint32]*fifo{0: {}}, leader: map[uint32]owner.Leader{}, serving: map[uint32]bool{}}
	l.opts.EnsureDefaults()
	l.idle = sync.NewCond(&l.mu)
	l.m = newMetrics(metrics.NewSet(), l)
	return l, out
}

// pending puts a proposal into partition 0's FIFO as if raft took it.
func pending(l *Log, corr uint64) *slot {
	r := work.NewRequest(work.KindAck, netio.Inbound{})
	r.Corr = corr
	r.Record = queue.Record{Type: queue.RecordAck, Dest: []byte("d"), Group: []byte("g"), Seqs: []uint64{corr}}
	s := &slot{prop: plog.Proposal{Partition: 0, Record: &r.Record, Req: r}, data: queue.AppendRecord(nil, &r.Record)}
	l.mu.Lock()
	l.parts[0].slots = append(l.parts[0].slots, s)
	l.mu.Unlock()
	return s
}

func outputs(ring *graph.Ring[plog.Output]) []string {
	var got []string
	for _, o := range ring.PopBatch(nil, 64) {
		s := o.Kind.String()
		if o.Entry.Req != nil {
			s += "#" + string(rune('0'+o.Entry.Req.Corr))
		}
		got = append(got, s)
	}
	return got
}

// TestLaterLossWaitsForEarlierProposal: the outcome of a later proposal
// (lost in raft, refused before raft, or asking for nothing) does not
// overtake an earlier proposal still waiting in raft; a commit releases
// what waited behind it, in proposal order.
func TestLaterLossWaitsForEarlierProposal(t *testing.T) {
	l, out := fifoLog(t)
	m := (*machine)(l)
	a, b := pending(l, 1), pending(l, 2)
	m.Lost(0, b, replica.ErrDropped) // raft dropped b while a waits
	l.mu.Lock()
	nothing := work.NewRequest(work.KindAck, netio.Inbound{})
	nothing.Corr = 3
	l.proposeLocked(plog.Proposal{Partition: 0, Req: nothing}, l.deps.Owners.Load()) // no record
	l.mu.Unlock()
	l.deps.Owners.SetLeader(0, false)
	notLed := work.NewRequest(work.KindAck, netio.Inbound{})
	notLed.Corr = 4
	l.propose([]plog.Proposal{{Partition: 0, Record: &notLed.Record, Req: notLed}})
	require.Empty(t, outputs(out), "everything waits for proposal 1")

	require.NoError(t, m.Apply(0, []replica.Entry{{Index: 2, Term: 1, Data: a.data, Ctx: a}}))
	require.Equal(t, []string{"committed#1", "failed#2", "unwritten#3", "failed#4"}, outputs(out))
	l.mu.Lock()
	require.Zero(t, l.outstandingLocked())
	l.mu.Unlock()
}

// TestEarlierLossReleasesLaterOutcomes: an entry of another node commits
// at once (index order), while this node's decided outcomes keep waiting
// for the earlier proposal; its loss releases them.
func TestEarlierLossReleasesLaterOutcomes(t *testing.T) {
	l, out := fifoLog(t)
	m := (*machine)(l)
	a, b := pending(l, 1), pending(l, 2)
	m.Lost(0, b, replica.ErrLost)
	other := queue.AppendRecord(nil, &queue.Record{Type: queue.RecordAck, Dest: []byte("d"), Group: []byte("g"), Seqs: []uint64{9}})
	require.NoError(t, m.Apply(0, []replica.Entry{{Index: 5, Term: 2, Data: other}, {Index: 6, Term: 2}}))
	require.Equal(t, []string{"committed"}, outputs(out), "another node's entry; raft's own empty entry does not come out")
	m.Lost(0, a, &replica.NotLeaderError{Partition: 0, Leader: 7, Term: 2})
	got := out.PopBatch(nil, 8)
	require.Len(t, got, 2)
	require.Equal(t, []uint64{1, 2}, []uint64{got[0].Entry.Req.Corr, got[1].Entry.Req.Corr})
	for _, o := range got {
		require.Equal(t, plog.Failed, o.Kind)
		require.ErrorIs(t, o.Err, plog.ErrNotLeader)
	}
	m.Lost(0, pending(l, 3), replica.ErrStopped)
	o := out.PopBatch(nil, 8)
	require.Len(t, o, 1)
	require.True(t, errors.Is(o[0].Err, plog.ErrClosed), "a stopped engine is a closed log: %v", o[0].Err)
}
