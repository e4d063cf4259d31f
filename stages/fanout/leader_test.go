package fanout

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// waitFor polls cond (each turn of a worker is short) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLeadPromotesOnlyTheCurrentLeadership: a Lead is taken in ring order,
// after the entries before it; a Lead whose leadership moved on (the owner
// table names another leader since) is not; a Follow answers the fetches
// parked on the partition NOT_LEADER with the new leader in the text.
func TestLeadPromotesOnlyTheCurrentLeadership(t *testing.T) {
	e := newEnv(t)
	owners := e.s.deps.Owners
	self := owner.Leader{ID: "n1", Addr: "127.0.0.1:9001", Term: 2}
	owners.SetLeadership(0, false, self)
	stale := owner.Leader{ID: "n1", Addr: "127.0.0.1:9001", Term: 1}
	c := &conn{sent: make(chan []byte, 4)}
	other := publish(t, c, "q", "a")
	e.log.TryPush(plog.Output{Kind: plog.Committed, Entry: plog.Entry{Partition: 0, Index: 3, Record: &other.Record}})
	e.log.TryPush(plog.Output{Kind: plog.Lead, Entry: plog.Entry{Partition: 0}, Leader: stale})
	e.log.TryPush(plog.Output{Kind: plog.Lead, Entry: plog.Entry{Partition: 0}, Leader: self})
	waitFor(t, "the promotion", func() bool { return owners.Load().Leads(0) })
	applied := uint64(0)
	require.NoError(t, e.s.Inspect(context.Background(), func(p *queue.Partition) { applied = p.AppliedIndex() }))
	require.Equal(t, uint64(3), applied)

	fetch := work.NewRequest(work.KindFetch, netio.Inbound{})
	fetch.Conn, fetch.Corr, fetch.Dest, fetch.Group = c, 7, []byte("empty"), []byte("g")
	fetch.Max, fetch.WaitMs, fetch.RecvNanos = 10, 60_000, time.Now().UnixNano()
	require.True(t, e.in.TryPush(fetch))
	gc := next(t, e.feedback) // the group's GroupCreate; commit it so the fetch parks
	e.log.TryPush(plog.Output{Kind: plog.Committed, Entry: plog.Entry{Partition: 0, Index: 4, Record: gc.Record, Req: gc.Req}})
	waitFor(t, "the fetch to park", func() bool { return e.s.m.parked.Load() == 1 })

	n2 := owner.Leader{ID: "n2", Addr: "127.0.0.1:9002", Term: 3}
	owners.SetLeadership(0, false, n2)
	e.log.TryPush(plog.Output{Kind: plog.Follow, Entry: plog.Entry{Partition: 0}, Leader: n2})
	got := next(t, e.ack)
	require.Same(t, fetch, got)
	var fe *frame.Error
	require.ErrorAs(t, got.Err, &fe)
	require.Equal(t, frame.CodeNotLeader, fe.Code)
	require.Contains(t, fe.Msg, "its leader is n2 at 127.0.0.1:9002")
	got.Release()
	require.Zero(t, e.s.m.parked.Load())
	other.Release()
}

// TestRestoreReplacesThePartition: a Restore output rebuilds the partition
// from a snapshot whose messages are in the log; dedupe's Lookup and
// fetches then answer from the restored state.
func TestRestoreReplacesThePartition(t *testing.T) {
	e := newEnv(t)
	c := &conn{sent: make(chan []byte, 4)}
	src, err := queue.New(0, queue.Options{})
	require.NoError(t, err)
	pub := publish(t, c, "q", "a", "b")
	data := queue.AppendRecord(nil, &pub.Record)
	_, err = e.s.deps.WAL.Append([]wal.Entry{{Partition: 0, Data: data}}, make([]uint64, 1))
	require.NoError(t, err)
	_, err = src.Apply(1, &pub.Record, nil)
	require.NoError(t, err)
	state := src.Snapshot(nil)
	var id [16]byte
	id[0] = 1
	copy(id[1:], "a")
	_, ok := e.s.Lookup(0, []byte("q"), false, 0, id)
	require.False(t, ok)

	e.log.TryPush(plog.Output{Kind: plog.Restore, Entry: plog.Entry{Partition: 0, Index: 1}, State: state})
	waitFor(t, "the restore", func() bool { _, ok := e.s.Lookup(0, []byte("q"), false, 0, id); return ok })
	seq, _ := e.s.Lookup(0, []byte("q"), false, 0, id)
	require.Equal(t, uint64(1), seq)
	pub.Release()
}
