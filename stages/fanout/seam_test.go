package fanout

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// conn is a work.Conn that hands every frame sent to it to a channel.
type conn struct{ sent chan []byte }

func (c *conn) Send(b []byte) error { c.sent <- append([]byte(nil), b...); return nil }
func (c *conn) SendError(corr uint64, code frame.Code, msg string) error {
	c.sent <- []byte(fmt.Sprintf("ERROR %s", code))
	return nil
}
func (c *conn) Closed() bool  { return false }
func (c *conn) MaxFrame() int { return 1 << 20 }

// fakeLog stands in for the partition log: the test decides what comes out
// of it, and it assigns indexes as a log does when it appends.
type fakeLog struct{ next map[uint32]uint64 }

// commit returns p committed at its partition's next index.
func (l *fakeLog) commit(p plog.Proposal) plog.Output {
	l.next[p.Partition]++
	return plog.Output{Kind: plog.Committed,
		Entry: plog.Entry{Partition: p.Partition, Index: l.next[p.Partition], Record: p.Record, Req: p.Req}}
}

type env struct {
	t        *testing.T
	s        *Stage
	in       *graph.Ring[*work.Request]
	log      *graph.Ring[plog.Output]
	ack      *graph.Ring[*work.Request]
	feedback *graph.Ring[plog.Proposal]
	fake     fakeLog
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, func() int64 { return time.Now().UnixNano() })
}

// newEnvAt is newEnv with the stage's clock now.
func newEnvAt(t *testing.T, now func() int64) *env {
	t.Helper()
	w, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	part, err := queue.New(0, queue.Options{})
	require.NoError(t, err)
	owners, err := owner.New(1, 1)
	require.NoError(t, err)
	e := &env{t: t, in: graph.NewRing[*work.Request](16), log: graph.NewRing[plog.Output](16),
		ack: graph.NewRing[*work.Request](16), feedback: graph.NewRing[plog.Proposal](16),
		fake: fakeLog{next: map[uint32]uint64{}}}
	e.s, err = New(Options{Workers: 1}, Deps{In: []*graph.Ring[*work.Request]{e.in}, Log: []*graph.Ring[plog.Output]{e.log},
		Ack: e.ack, Feedback: e.feedback, Owners: owners, Partitions: []*queue.Partition{part}, WAL: w,
		Now: now})
	require.NoError(t, err)
	require.NoError(t, e.s.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.s.Stop(ctx))
	})
	return e
}

// next waits for the next item on r.
func next[T any](t *testing.T, r *graph.Ring[T]) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := r.PopBatch(nil, 1); len(got) == 1 {
			return got[0]
		}
		select {
		case <-r.C():
		case <-deadline:
			t.Fatal("nothing arrived")
		}
	}
}

// publish returns a PUBLISH request from c of payloads to dest, and its
// messages record.
func publish(t *testing.T, c work.Conn, dest string, payloads ...string) *work.Request {
	t.Helper()
	msgs := make([]frame.Message, len(payloads))
	for i, p := range payloads {
		msgs[i] = frame.Message{Payload: []byte(p)}
		msgs[i].ID[0] = byte(len(p))
		copy(msgs[i].ID[1:], p)
	}
	b := frame.AppendPublish(nil, 1, []byte(dest), msgs)
	f, _, err := frame.Decode(b, len(b))
	require.NoError(t, err)
	p, err := frame.DecodePublish(f.Body, 16)
	require.NoError(t, err)
	r := work.NewRequest(work.KindPublish, netio.Inbound{})
	r.Conn, r.Dest, r.Pub = c, p.Destination, p
	r.StartResults(int(p.Count))
	r.Record = queue.Record{Type: queue.RecordMessages, Time: 1, Dest: r.Dest, Count: p.Count, Raw: p.Raw}
	return r
}

// TestAppliesEntriesFromTheLogOnly drives fanout with a fake log: an entry
// proposed on another node (no request) is applied and served to a fetch;
// the GroupCreate fanout proposes goes to the log and takes effect only
// once the log commits it; a committed PUBLISH of this node is answered
// with the seqs its apply gave.
func TestAppliesEntriesFromTheLogOnly(t *testing.T) {
	e := newEnv(t)
	c := &conn{sent: make(chan []byte, 4)}
	other := publish(t, c, "q", "a", "b")
	rec := other.Record
	e.log.TryPush(plog.Output{Kind: plog.Committed, Entry: plog.Entry{Partition: 0, Index: 1, Record: &rec}})
	e.fake.next[0] = 1

	fetch := work.NewRequest(work.KindFetch, netio.Inbound{})
	fetch.Conn, fetch.Corr, fetch.Dest, fetch.Group = c, 7, []byte("q"), []byte("g")
	fetch.Max, fetch.WaitMs, fetch.RecvNanos = 10, 10_000, time.Now().UnixNano()
	require.True(t, e.in.TryPush(fetch))

	gc := next(t, e.feedback)
	require.Equal(t, queue.RecordGroupCreate, gc.Record.Type)
	require.Equal(t, "g", string(gc.Record.Group))
	select {
	case b := <-c.sent:
		t.Fatalf("answered before the group was committed: %q", b)
	default:
	}
	e.log.TryPush(e.fake.commit(gc))
	b := <-c.sent
	f, _, err := frame.Decode(b, len(b))
	require.NoError(t, err)
	require.Equal(t, frame.TypeMessages, f.Type)
	require.Equal(t, uint64(7), f.Corr)
	ms, err := frame.DecodeMessages(f.Body)
	require.NoError(t, err)
	require.Equal(t, uint32(2), ms.Count, "the other node's entry was applied")

	mine := publish(t, c, "q", "c")
	e.log.TryPush(e.fake.commit(plog.Proposal{Partition: 0, Record: &mine.Record, Req: mine}))
	got := next(t, e.ack)
	require.Same(t, mine, got)
	require.Equal(t, []frame.AckEntry{{Seq: 3}}, got.Results)
	got.Release()
	other.Release()
}

// TestFailedProposalsAnswerEveryRequest: every request of a batch the log
// failed is answered with the error's code (STORAGE, DISK_FULL,
// NOT_LEADER): each unresolved message of a PUBLISH, an ACK as a whole;
// messages answered before (a duplicate) keep their answer; nothing is
// applied. An Unwritten PUBLISH is answered as it is.
func TestFailedProposalsAnswerEveryRequest(t *testing.T) {
	e := newEnv(t)
	c := &conn{sent: make(chan []byte, 4)}
	for _, tc := range []struct {
		err  error
		code frame.Code
	}{
		{errors.New("fsync: input/output error"), frame.CodeStorage},
		{fmt.Errorf("no room: %w", wal.ErrDiskFull), frame.CodeDiskFull},
		{plog.ErrNotLeader, frame.CodeNotLeader},
	} {
		pub := publish(t, c, "q", "x", "y", "z")
		pub.Resolve(0, frame.AckEntry{Flags: frame.FlagDuplicate, Seq: 9})
		ack := work.NewRequest(work.KindAck, netio.Inbound{})
		ack.Conn, ack.Dest, ack.Group, ack.Seqs = c, []byte("q"), []byte("g"), []uint64{1}
		for _, r := range []*work.Request{pub, ack} {
			e.log.TryPush(plog.Output{Kind: plog.Failed, Err: tc.err, Entry: plog.Entry{Partition: 0, Req: r}})
		}
		got := next(t, e.ack)
		require.Same(t, pub, got)
		require.Equal(t, []frame.AckEntry{{Flags: frame.FlagDuplicate, Seq: 9}, {Code: tc.code}, {Code: tc.code}}, got.Results)
		got.Release()
		got = next(t, e.ack)
		require.Same(t, ack, got)
		var fe *frame.Error
		require.ErrorAs(t, got.Err, &fe)
		require.Equal(t, tc.code, fe.Code)
		got.Release()
	}
	require.Zero(t, e.s.m.applied.Get(), "nothing applied")

	dup := publish(t, c, "q", "w")
	dup.Resolve(0, frame.AckEntry{Flags: frame.FlagDuplicate, Seq: 4})
	e.log.TryPush(plog.Output{Kind: plog.Unwritten, Entry: plog.Entry{Partition: 0, Req: dup}})
	got := next(t, e.ack)
	require.Same(t, dup, got)
	require.NoError(t, got.Err)
	require.Equal(t, []frame.AckEntry{{Flags: frame.FlagDuplicate, Seq: 4}}, got.Results)
	got.Release()
}
