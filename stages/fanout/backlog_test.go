package fanout

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
)

// backloggedConn is a conn whose Backlogged the test sets, counting how
// often fanout asked.
type backloggedConn struct {
	conn
	backlogged atomic.Bool
	asked      atomic.Int64
}

func (c *backloggedConn) Backlogged() bool {
	c.asked.Add(1)
	return c.backlogged.Load()
}

// TestBackloggedConnectionGetsNoMessages: a FETCH whose connection is
// backlogged (its client leaves its replies unread) gets no MESSAGES
// built while it stays so, however often fanout looks again, and takes no
// message from the group meanwhile; once the connection drains, the FETCH
// is served, with the message's first attempt.
func TestBackloggedConnectionGetsNoMessages(t *testing.T) {
	e := newEnv(t)
	c := &backloggedConn{conn: conn{sent: make(chan []byte, 4)}}
	other := publish(t, c, "q", "a", "b")
	defer other.Release()
	rec := other.Record
	e.log.TryPush(plog.Output{Kind: plog.Committed, Entry: plog.Entry{Partition: 0, Index: 1, Record: &rec}})
	e.fake.next[0] = 1
	fetch := func(corr uint64) *work.Request {
		r := work.NewRequest(work.KindFetch, netio.Inbound{})
		r.Conn, r.Corr, r.Dest, r.Group = c, corr, []byte("q"), []byte("g")
		r.Max, r.RecvNanos = 1, time.Now().UnixNano()
		return r
	}
	require.True(t, e.in.TryPush(fetch(1)))
	e.log.TryPush(e.fake.commit(next(t, e.feedback))) // the group
	require.Equal(t, []uint64{1}, seqsSent(t, <-c.sent, 1))

	c.backlogged.Store(true)
	require.True(t, e.in.TryPush(fetch(2)))
	asked := c.asked.Load()
	deadline := time.After(10 * time.Second)
	for c.asked.Load() < asked+3 { // offered again at least twice
		select {
		case b := <-c.sent:
			t.Fatalf("a backlogged connection was answered: %q", b)
		case <-deadline:
			t.Fatal("the held FETCH was not offered again")
		case <-time.After(time.Millisecond):
		}
	}
	require.EqualValues(t, 1, e.s.m.held.Load())
	select {
	case b := <-c.sent:
		t.Fatalf("a backlogged connection was answered: %q", b)
	default:
	}

	c.backlogged.Store(false)
	require.Equal(t, []uint64{2}, seqsSent(t, <-c.sent, 2))
	require.Zero(t, e.s.m.held.Load())
}

// seqsSent decodes b, a MESSAGES frame answering corr, and returns its
// seqs; each must be a first attempt.
func seqsSent(t *testing.T, b []byte, corr uint64) []uint64 {
	t.Helper()
	f, _, err := frame.Decode(b, len(b))
	require.NoError(t, err)
	require.Equal(t, frame.TypeMessages, f.Type)
	require.Equal(t, corr, f.Corr)
	ms, err := frame.DecodeMessages(f.Body)
	require.NoError(t, err)
	var seqs []uint64
	for d, ok := ms.Next(); ok; d, ok = ms.Next() {
		require.EqualValues(t, 1, d.Attempt)
		seqs = append(seqs, d.Seq)
	}
	return seqs
}
