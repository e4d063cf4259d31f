package replica

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/swarmmq/swarmmq/wal"
)

// checkTransport checks, at the instant of every Send, that a power cut
// then would keep what the messages announce: it opens the sender's log on
// a crash clone holding only fsynced data and looks for every entry a
// MsgApp carries, the entries a MsgAppResp acknowledges and the vote a
// MsgVoteResp grants.
type checkTransport struct {
	env    *env
	id     uint64
	checks int
}

func (c *checkTransport) Send(msgs []Message) {
	t, nd := c.env.t, c.env.nodes[c.id-1]
	clone := nd.fs.CrashClone(vfs.CrashCloneCfg{})
	l, err := wal.Open(wal.Options{Dir: "db", FS: clone, Partitions: c.env.parts, MemTableSize: wal.MinMemTableSize * 4, MinFree: -1})
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	for _, m := range msgs {
		msg := m.Msg
		switch msg.GetType() {
		case pb.MsgApp:
			for _, en := range msg.GetEntries() {
				rec, err := l.Read(m.Partition, en.GetIndex(), nil)
				require.NoError(t, err, "n%d sent entry %d before it was durable", c.id, en.GetIndex())
				require.Equal(t, en.GetData(), rec)
				c.checks++
			}
		case pb.MsgAppResp:
			if !msg.GetReject() {
				require.GreaterOrEqual(t, l.LastIndex(m.Partition), msg.GetIndex(), "n%d acknowledged %d before it was durable", c.id, msg.GetIndex())
				c.checks++
			}
		case pb.MsgVoteResp:
			if !msg.GetReject() {
				st, ok, err := l.LoadRaftState(m.Partition)
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, msg.GetTo(), st.Vote, "n%d granted a vote not yet durable", c.id)
				require.GreaterOrEqual(t, st.Term, msg.GetTerm())
				c.checks++
			}
		}
	}
	(*envTransport)(nd).Send(msgs)
}

// TestNothingSentBeforeFsync: on Pebble's crash-simulating file system,
// nothing a node sends announces an entry or a vote that a power cut at
// that instant would lose.
func TestNothingSentBeforeFsync(t *testing.T) {
	e := newEnv(t, 3, 2)
	var cts []*checkTransport
	for _, nd := range e.nodes {
		nd.stop()
		ct := &checkTransport{env: e, id: nd.id}
		cts = append(cts, ct)
		nd.start()
		nd.eng.opts.Transport = ct
	}
	for p := range uint32(2) {
		require.NoError(t, e.nodes[p].eng.groups[p].rn.Campaign())
	}
	e.stabilize()
	for i := range 20 {
		p := uint32(i % 2)
		require.NoError(t, e.nodes[p].eng.Propose(p, []byte{byte('a' + i)}, &ackCtx{name: "x"}))
		if i%3 == 0 {
			e.stabilize()
		}
	}
	e.stabilize()
	// Node 3 falls behind while the others compact, then catches up by
	// snapshot: its acknowledgement of the snapshot must be durable too.
	e.keep, e.every = 1, 2
	e.cut[[2]uint64{1, 3}], e.cut[[2]uint64{3, 1}] = true, true
	e.cut[[2]uint64{2, 3}], e.cut[[2]uint64{3, 2}] = true, true
	for i := range 8 {
		p := uint32(i % 2)
		require.NoError(t, e.nodes[p].eng.Propose(p, []byte{byte('A' + i)}, &ackCtx{name: "y"}))
		e.stabilize()
	}
	clear(e.cut)
	// A heartbeat: node 3 answers, the leader asks for the snapshot's
	// payload; at the next one it is built and sent.
	for range 2 {
		for p := range uint32(2) {
			e.nodes[p].step(1)
		}
		e.deliver()
		e.stabilize()
	}
	for p := range uint32(2) {
		require.Equal(t, e.nodes[p].eng.groups[p].applied, e.nodes[2].eng.groups[p].applied)
		require.Greater(t, e.nodes[2].eng.groups[p].st.snapIndex, uint64(0), "p%d: node 3 got no snapshot", p)
	}
	total := 0
	for _, ct := range cts {
		total += ct.checks
	}
	require.Greater(t, total, 40)
	t.Logf("%d messages checked against a crash clone", total)
}
