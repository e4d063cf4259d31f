package fanout

import (
	"context"
	"net"
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

// idConn is a conn that tells its id, address and client id, as
// netio.Conn does, and can be closed by the test.
type idConn struct {
	conn
	id     uint64
	client string
	closed atomic.Bool
}

func newIDConn(id uint64, client string) *idConn {
	return &idConn{conn: conn{sent: make(chan []byte, 16)}, id: id, client: client}
}

func (c *idConn) ID() uint64       { return c.id }
func (c *idConn) ClientID() string { return c.client }
func (c *idConn) Closed() bool     { return c.closed.Load() }
func (c *idConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000 + int(c.id)}
}

// fetchOf returns a FETCH of q/g from c.
func fetchOf(c work.Conn, max int, waitMs uint32, now int64) *work.Request {
	r := work.NewRequest(work.KindFetch, netio.Inbound{})
	r.Conn, r.Corr, r.Dest, r.Group = c, 1, []byte("q"), []byte("g")
	r.Max, r.WaitMs, r.RecvNanos = max, waitMs, now
	return r
}

// seqsIn returns the seqs of the MESSAGES frame b.
func seqsIn(t *testing.T, b []byte) []uint64 {
	t.Helper()
	f, _, err := frame.Decode(b, len(b))
	require.NoError(t, err)
	require.Equal(t, frame.TypeMessages, f.Type, "%q", b)
	ms, err := frame.DecodeMessages(f.Body)
	require.NoError(t, err)
	var seqs []uint64
	for d, ok := ms.Next(); ok; d, ok = ms.Next() {
		seqs = append(seqs, d.Seq)
	}
	return seqs
}

// membersOf reads the members of q/g.
func membersOf(t *testing.T, s *Stage) []Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []Member
	require.NoError(t, s.InspectLive(ctx, func(_ *queue.Partition, l Live) { got = l.Members([]byte("q"), []byte("g")) }))
	return got
}

// settle sends a request answered through the ack stage (an ACK
// committed by the log, a NACK) and waits for its answer.
func (e *env) settle(kind work.Kind, c work.Conn, seqs ...uint64) {
	e.t.Helper()
	r := work.NewRequest(kind, netio.Inbound{})
	r.Conn, r.Dest, r.Group, r.Seqs = c, []byte("q"), []byte("g"), seqs
	if kind == work.KindAck {
		r.Record = queue.Record{Type: queue.RecordAck, Time: 1, Dest: r.Dest, Group: r.Group, Seqs: r.Seqs}
		e.commitMine(r)
		return
	}
	require.True(e.t, e.in.TryPush(r))
	got := next(e.t, e.ack)
	require.Same(e.t, r, got)
	got.Release()
}

// TestMembers: two connections fetching for one group are two members,
// each with the deliveries it holds: an ACK (from anyone) and a NACK
// settle them, a redelivery moves one to the member it went to; a long
// poll shows as waiting; a member whose connection closed is gone at once,
// one idle for MemberIdle with no FETCH waiting too; a reset forgets what
// was in flight.
func TestMembers(t *testing.T) {
	var clock atomic.Int64
	clock.Store(at(0))
	e := newEnvAt(t, clock.Load)
	a, b := newIDConn(1, "alice"), newIDConn(2, "")
	other := publish(t, &a.conn, "q", "1", "22", "333", "4444", "55555")
	rec := other.Record
	e.log.TryPush(plog.Output{Kind: plog.Committed, Entry: plog.Entry{Partition: 0, Index: 1, Record: &rec}})
	e.fake.next[0] = 1
	require.Empty(t, membersOf(t, e.s), "no one fetched")

	require.True(t, e.in.TryPush(fetchOf(a, 3, 10_000, clock.Load())))
	e.log.TryPush(e.fake.commit(next(t, e.feedback))) // the GroupCreate
	require.Equal(t, []uint64{1, 2, 3}, seqsIn(t, <-a.sent))
	clock.Store(at(1))
	require.True(t, e.in.TryPush(fetchOf(b, 2, 0, clock.Load())))
	require.Equal(t, []uint64{4, 5}, seqsIn(t, <-b.sent))
	other.Release()

	clock.Store(at(2))
	require.Equal(t, []Member{
		{Conn: 1, Remote: "127.0.0.1:40001", ClientID: "alice", LastFetch: at(0), Delivered: 3, InFlight: 3},
		{Conn: 2, Remote: "127.0.0.1:40002", LastFetch: at(1), Delivered: 2, InFlight: 2},
	}, membersOf(t, e.s))

	e.settle(work.KindAck, b, 1, 2) // acked by another connection: a's all the same
	e.settle(work.KindNack, b, 4)
	require.True(t, e.in.TryPush(fetchOf(a, 10, 0, clock.Load())))
	require.Equal(t, []uint64{4}, seqsIn(t, <-a.sent), "the NACKed seq, delivered again to a")
	// Nothing left: a long poll, longer than the idle time below.
	require.True(t, e.in.TryPush(fetchOf(b, 10, uint32((DefaultMemberIdle+time.Hour)/time.Millisecond), clock.Load())))
	require.Eventually(t, func() bool { return e.s.m.parked.Load() == 1 }, 10*time.Second, time.Millisecond)
	got := membersOf(t, e.s)
	require.Len(t, got, 2)
	require.Equal(t, Member{Conn: 1, Remote: "127.0.0.1:40001", ClientID: "alice", LastFetch: at(2), Delivered: 4, InFlight: 2}, got[0])
	require.Equal(t, Member{Conn: 2, Remote: "127.0.0.1:40002", LastFetch: at(2), Delivered: 2, InFlight: 1, Waiting: true}, got[1])

	// b's long poll keeps it, a idle for MemberIdle is forgotten.
	clock.Store(at(2) + int64(DefaultMemberIdle) + 1)
	got = membersOf(t, e.s)
	require.Len(t, got, 1)
	require.Equal(t, uint64(2), got[0].Conn)
	require.True(t, got[0].Waiting)

	b.closed.Store(true)
	require.Empty(t, membersOf(t, e.s), "b's connection closed")
}

// TestMembersForwardedAndReset: fetches other nodes forwarded are one
// member (Conn 0); a reset of the group forgets the deliveries in flight;
// a connection that tells nothing of itself is not tracked.
func TestMembersForwardedAndReset(t *testing.T) {
	e := newEnv(t)
	c := &conn{sent: make(chan []byte, 4)}
	pub := publish(t, c, "q", "1", "22", "333")
	rec := pub.Record
	e.log.TryPush(plog.Output{Kind: plog.Committed, Entry: plog.Entry{Partition: 0, Index: 1, Record: &rec}})
	e.fake.next[0] = 1

	f := fetchOf(c, 1, 10_000, time.Now().UnixNano())
	f.Forwarded = true
	require.True(t, e.in.TryPush(f))
	e.log.TryPush(e.fake.commit(next(t, e.feedback)))
	require.Equal(t, []uint64{1}, seqsIn(t, <-c.sent))
	f = fetchOf(c, 1, 0, time.Now().UnixNano())
	f.Forwarded = true
	require.True(t, e.in.TryPush(f))
	require.Equal(t, []uint64{2}, seqsIn(t, <-c.sent))
	require.True(t, e.in.TryPush(fetchOf(c, 1, 0, time.Now().UnixNano()))) // not forwarded, no identity
	require.Equal(t, []uint64{3}, seqsIn(t, <-c.sent))
	got := membersOf(t, e.s)
	require.Len(t, got, 1)
	require.Equal(t, Member{Forwarded: true, LastFetch: got[0].LastFetch, Delivered: 2, InFlight: 2}, got[0])

	reset := work.NewRequest(work.KindAdmin, netio.Inbound{})
	reset.Dest, reset.Group = []byte("q"), []byte("g")
	reset.Record = queue.Record{Type: queue.RecordGroupReset, Time: 2, Dest: reset.Dest, Group: reset.Group,
		Start: queue.Start{Kind: queue.StartEarliest}}
	done := make(chan struct{})
	reset.Done = func(queue.Result, error) { close(done) }
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &reset.Record, Req: reset}))
	<-done
	got = membersOf(t, e.s)
	require.Len(t, got, 1)
	require.Zero(t, got[0].InFlight, "the reset forgot them")
	pub.Release()
}

// TestMemberIdleOption: a negative idle time is refused; 0 takes the
// default.
func TestMemberIdleOption(t *testing.T) {
	o := Options{MemberIdle: -time.Second}
	o.EnsureDefaults()
	require.ErrorContains(t, o.Validate(), "member idle time -1s < 0")
	o = Options{}
	o.EnsureDefaults()
	require.NoError(t, o.Validate())
	require.Equal(t, DefaultMemberIdle, o.MemberIdle)
}
