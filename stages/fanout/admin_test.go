package fanout

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// outcome is what an admin request's Done got.
type outcome struct {
	res queue.Result
	err error
}

// adminRequest returns an admin request for rec and the channel its Done
// answers on.
func adminRequest(rec queue.Record) (*work.Request, chan outcome) {
	done := make(chan outcome, 1)
	r := work.NewRequest(work.KindAdmin, netio.Inbound{})
	r.Record = rec
	r.Done = func(res queue.Result, err error) { done <- outcome{res, err} }
	return r, done
}

func waitOutcome(t *testing.T, c chan outcome) outcome {
	t.Helper()
	select {
	case o := <-c:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("Done was not called")
		return outcome{}
	}
}

// TestAdminRecords: a committed admin record applies and its request's
// Done gets the record's result (a purge: how many messages it dropped;
// an unknown destination: CodeNoDestination); a failed proposal gets the
// log's error; an entry proposed elsewhere applies without a request.
func TestAdminRecords(t *testing.T) {
	e := newEnv(t)
	pub := publish(t, &conn{sent: make(chan []byte, 1)}, "q", "a", "bb")
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &pub.Record, Req: pub}))
	next(t, e.ack).Release()

	r, done := adminRequest(queue.Record{Type: queue.RecordPurge, Time: 2, Dest: []byte("q")})
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &r.Record, Req: r}))
	o := waitOutcome(t, done)
	require.NoError(t, o.err)
	require.Equal(t, queue.Result{Count: 2}, o.res)

	r, done = adminRequest(queue.Record{Type: queue.RecordPurge, Time: 3, Dest: []byte("nope")})
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &r.Record, Req: r}))
	require.Equal(t, queue.Result{Code: queue.CodeNoDestination}, waitOutcome(t, done).res)

	r, done = adminRequest(queue.Record{Type: queue.RecordPurge, Time: 4, Dest: []byte("q")})
	e.log.TryPush(plog.Output{Kind: plog.Failed, Err: wal.ErrDiskFull, Entry: plog.Entry{Partition: 0, Req: r}})
	require.ErrorIs(t, waitOutcome(t, done).err, wal.ErrDiskFull)

	// An entry proposed on another node (no request) applies too.
	other := queue.Record{Type: queue.RecordDestConfig, Time: 5, Dest: []byte("made-elsewhere")}
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &other}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var has bool
	require.Eventually(t, func() bool {
		require.NoError(t, e.s.Inspect(ctx, func(p *queue.Partition) { has = p.HasDest([]byte("made-elsewhere")) }))
		return has
	}, 10*time.Second, time.Millisecond)
}
