package plog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/work"
)

type conn struct{ codes []frame.Code }

func (c *conn) Send([]byte) error { return nil }
func (c *conn) SendError(_ uint64, code frame.Code, _ string) error {
	c.codes = append(c.codes, code)
	return nil
}
func (c *conn) Closed() bool  { return false }
func (c *conn) MaxFrame() int { return 1 << 20 }

// TestDeliverToTheWorkerOfThePartition: an output goes to the ring of its
// partition's worker; on a closed ring its request is answered
// SHUTTING_DOWN and released, and an entry without one is dropped (replay
// applies it).
func TestDeliverToTheWorkerOfThePartition(t *testing.T) {
	owners, err := owner.New(4, 2)
	require.NoError(t, err)
	d := Deps{Owners: owners, Out: []*graph.Ring[Output]{graph.NewRing[Output](4), graph.NewRing[Output](4)}}
	tb := owners.Load()
	require.True(t, Deliver(d, tb, Output{Kind: Committed, Entry: Entry{Partition: 3, Index: 1}}))
	require.Equal(t, 0, d.Out[0].Len())
	require.Equal(t, 1, d.Out[1].Len())

	d.Out[0].Close()
	c := &conn{}
	r := work.NewRequest(work.KindAck, netio.Inbound{})
	r.Conn = c
	require.False(t, Deliver(d, tb, Output{Kind: Unwritten, Entry: Entry{Partition: 2, Req: r}}))
	require.Equal(t, []frame.Code{frame.CodeShuttingDown}, c.codes)
	require.Nil(t, r.Conn, "released")
	require.False(t, Deliver(d, tb, Output{Kind: Committed, Entry: Entry{Partition: 0, Index: 1}}))
}

func TestKindString(t *testing.T) {
	require.Equal(t, "committed", Committed.String())
	require.Equal(t, "failed", Failed.String())
	require.Equal(t, "unwritten", Unwritten.String())
	require.Equal(t, "Kind(9)", Kind(9).String())
}

func TestNotLeaderErrorNamesTheLeader(t *testing.T) {
	err := error(&NotLeaderError{Partition: 3, Leader: owner.Leader{ID: "n2", Addr: "127.0.0.1:9002", Term: 7}})
	require.ErrorIs(t, err, ErrNotLeader)
	require.Equal(t, "partition 3 is not led by this node; its leader is n2 at 127.0.0.1:9002 (term 7)", err.Error())
	err = &NotLeaderError{Partition: 1, Cause: ErrClosed}
	require.ErrorIs(t, err, ErrClosed)
	require.Equal(t, "partition 1 is not led by this node; no leader is known yet (swarmmq/plog: log closed)", err.Error())
}
