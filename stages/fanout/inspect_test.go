package fanout

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/plog"
)

// TestInspectReadsOnTheOwner: Inspect sees what the worker applied (run
// with -race: the read happens on the worker's goroutine), and answers
// ErrStopped once the stage stopped.
func TestInspectReadsOnTheOwner(t *testing.T) {
	e := newEnv(t)
	pub := publish(t, &conn{sent: make(chan []byte, 1)}, "q", "a", "bb")
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &pub.Record, Req: pub}))
	next(t, e.ack).Release()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []queue.DestStats
	require.NoError(t, e.s.Inspect(ctx, func(p *queue.Partition) {
		p.Destinations(func(d queue.DestStats) {
			d.Name = append([]byte(nil), d.Name...)
			d.Groups, d.Limits = nil, queue.Limits{}
			got = append(got, d)
		})
	}))
	require.Equal(t, []queue.DestStats{{Name: []byte("q"), Msgs: 2, Bytes: 3, FirstSeq: 1, LastSeq: 2, OldestTime: 1}}, got)

	require.NoError(t, e.s.Stop(ctx))
	require.ErrorIs(t, e.s.Inspect(ctx, func(*queue.Partition) {}), ErrStopped)
}
