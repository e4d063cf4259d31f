package fanout

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
)

// publishesOf reads dest's publish counts through InspectLive.
func publishesOf(t *testing.T, s *Stage, dest string) Publishes {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got Publishes
	require.NoError(t, s.InspectLive(ctx, func(_ *queue.Partition, l Live) { got = l.Publishes([]byte(dest)) }))
	return got
}

// commitMine commits r as a record this node proposed and waits for its
// answer.
func (e *env) commitMine(r *work.Request) {
	e.t.Helper()
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &r.Record, Req: r}))
	got := next(e.t, e.ack)
	require.Same(e.t, r, got)
	got.Release()
}

// TestPublishCounts: the messages this node's PUBLISHes stored are
// counted with their wire size, at the stage's clock; duplicates and the
// records of another node (a follower applying the leader's) are not; a
// deleted destination starts again from 0.
func TestPublishCounts(t *testing.T) {
	var clock atomic.Int64
	clock.Store(at(0))
	e := newEnvAt(t, clock.Load)
	c := &conn{sent: make(chan []byte, 4)}
	size := func(payloads ...string) uint64 {
		n := 0
		for _, p := range payloads {
			n += frame.MessageHeaderSize + len(p)
		}
		return uint64(n)
	}

	clock.Store(at(2.5))
	e.commitMine(publish(t, c, "q", "a", "bb", "ccc"))
	clock.Store(at(4.5))
	e.commitMine(publish(t, c, "q", "bb", "dddd")) // bb is a duplicate
	other := publish(t, c, "q", "eeeee")
	rec := other.Record
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &rec})) // applied, no request: not counted
	other.Release()

	clock.Store(at(5))
	got := publishesOf(t, e.s, "q")
	require.Equal(t, uint64(4), got.Msgs)
	require.Equal(t, size("a", "bb", "ccc", "dddd"), got.Bytes)
	// The worker started at 0: both windows cover 5 s.
	require.InDelta(t, 4/5.0, got.MsgRate10s, 1e-9)
	require.InDelta(t, 4/5.0, got.MsgRate1m, 1e-9)
	require.InDelta(t, float64(got.Bytes)/5, got.ByteRate1m, 1e-9)
	require.Equal(t, Publishes{}, publishesOf(t, e.s, "nope"))

	clock.Store(at(20))
	got = publishesOf(t, e.s, "q")
	require.Zero(t, got.MsgRate10s, "nothing in the last 10 s")
	require.InDelta(t, 4/20.0, got.MsgRate1m, 1e-9)
	require.Equal(t, uint64(4), got.Msgs)

	del := work.NewRequest(work.KindAdmin, netio.Inbound{})
	del.Dest = []byte("q")
	del.Record = queue.Record{Type: queue.RecordDestDelete, Time: 3, Dest: del.Dest}
	done := make(chan struct{})
	del.Done = func(queue.Result, error) { close(done) }
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &del.Record, Req: del}))
	<-done
	require.Equal(t, Publishes{}, publishesOf(t, e.s, "q"))
}
