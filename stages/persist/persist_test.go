package persist

import (
	"context"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet (through netio) starts an ants pool in a package variable.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// conn is a work.Conn that is open or closed and records the error codes
// sent to it.
type conn struct {
	closed bool
	codes  []frame.Code
}

func (c *conn) Send([]byte) error { return nil }
func (c *conn) SendError(_ uint64, code frame.Code, _ string) error {
	c.codes = append(c.codes, code)
	return nil
}
func (c *conn) Closed() bool  { return c.closed }
func (c *conn) MaxFrame() int { return 1 << 20 }

// publish returns a PUBLISH request of one message from c.
func publish(t *testing.T, c work.Conn, payload string) *work.Request {
	t.Helper()
	b := frame.AppendPublish(nil, 1, []byte("d"), []frame.Message{{Payload: []byte(payload)}})
	f, _, err := frame.Decode(b, len(b))
	if err != nil {
		t.Fatal(err)
	}
	p, err := frame.DecodePublish(f.Body, 16)
	if err != nil {
		t.Fatal(err)
	}
	r := work.NewRequest(work.KindPublish, netio.Inbound{})
	r.Conn, r.Dest, r.Pub = c, p.Destination, p
	r.StartResults(int(p.Count))
	return r
}

// harness runs the stage on log with one output ring per worker.
type harness struct {
	s      *Stage
	in     *graph.Ring[plog.Proposal]
	out    []*graph.Ring[plog.Output]
	owners *owner.Map
}

func start(t *testing.T, log *wal.Log, partitions uint32, workers int, set *metrics.Set) *harness {
	t.Helper()
	owners, err := owner.New(partitions, workers)
	require.NoError(t, err)
	h := &harness{in: graph.NewRing[plog.Proposal](64), owners: owners}
	for range workers {
		h.out = append(h.out, graph.NewRing[plog.Output](64))
	}
	h.s, err = New(Options{Metrics: set}, Deps{Deps: plog.Deps{In: h.in, Out: h.out, Owners: owners,
		Now: func() int64 { return time.Now().UnixNano() }}, Log: log})
	require.NoError(t, err)
	require.NoError(t, h.s.Start())
	return h
}

// stop stops the stage: every proposal taken comes out first.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.s.Stop(ctx))
}

// propose proposes r's record (nil when it has none) for partition p.
func (h *harness) propose(t *testing.T, p uint32, r *work.Request, rec *queue.Record) {
	t.Helper()
	r.Partition = p
	require.True(t, h.in.TryPush(plog.Proposal{Partition: p, Record: rec, Req: r}))
}

// outputs returns everything on worker w's ring.
func (h *harness) outputs(w int) []plog.Output { return h.out[w].PopBatch(nil, 1000) }

func messages(r *work.Request) *queue.Record {
	r.Record = queue.Record{Type: queue.RecordMessages, Time: 1, Dest: r.Dest, Count: r.Pub.Count, Raw: r.Pub.Raw}
	return &r.Record
}

func ackRecord(r *work.Request) *queue.Record {
	r.Record = queue.Record{Type: queue.RecordAck, Time: 1, Dest: r.Dest, Group: r.Group, Seqs: r.Seqs}
	return &r.Record
}

// TestClosedConnectionsPublishNotWritten: a PUBLISH whose connection closed
// before persist took it is not written (nobody was promised anything); it
// comes out Unwritten with no connection, in its place.
func TestClosedConnectionsPublishNotWritten(t *testing.T) {
	log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, log.Close()) }()
	h := start(t, log, 1, 1, metrics.NewSet())
	gone, kept := publish(t, &conn{closed: true}, "gone"), publish(t, &conn{}, "kept")
	h.propose(t, 0, gone, messages(gone))
	h.propose(t, 0, kept, messages(kept))
	h.stop(t)
	got := h.outputs(0)
	require.Len(t, got, 2)
	require.Equal(t, plog.Unwritten, got[0].Kind)
	require.Same(t, gone, got[0].Entry.Req)
	require.Nil(t, gone.Conn)
	require.Equal(t, plog.Committed, got[1].Kind)
	require.Equal(t, plog.Entry{Partition: 0, Index: 1, Record: &kept.Record, Req: kept}, got[1].Entry)
	require.Equal(t, uint64(1), h.s.abandoned.Get())
}

// TestDiskFullRefusesPublishesOnly: while the log reports the disk full, a
// proposal of new messages fails with wal.ErrDiskFull, and an ACK in the
// same drain is still written.
func TestDiskFullRefusesPublishesOnly(t *testing.T) {
	fs := vfs.NewMem()
	log, err := wal.Open(wal.Options{Dir: "db", FS: fs, Partitions: 1, MinFree: 1 << 20, MemTableSize: 256 << 10,
		DiskUsage: func() (vfs.DiskUsage, error) { return vfs.DiskUsage{AvailBytes: 512 << 10, TotalBytes: 1 << 30}, nil }})
	require.NoError(t, err)
	defer func() { require.NoError(t, log.Close()) }()
	require.ErrorIs(t, log.DiskFull(), wal.ErrDiskFull)

	h := start(t, log, 1, 1, nil)
	pub := publish(t, &conn{}, "m")
	ack := work.NewRequest(work.KindAck, netio.Inbound{})
	ack.Dest, ack.Group, ack.Seqs = []byte("q"), []byte("g"), []uint64{1}
	h.propose(t, 0, pub, messages(pub))
	h.propose(t, 0, ack, ackRecord(ack))
	h.stop(t)
	got := h.outputs(0)
	require.Len(t, got, 2)
	require.Same(t, pub, got[0].Entry.Req, "order kept")
	require.Equal(t, plog.Failed, got[0].Kind)
	require.ErrorIs(t, got[0].Err, wal.ErrDiskFull)
	require.Equal(t, plog.Committed, got[1].Kind)
	require.Equal(t, uint64(1), got[1].Entry.Index, "the ack is written")
}

// TestAppendErrorFailsTheBatch: when the append fails, every proposal of
// the batch that was to be written comes out Failed with the error (so
// each request is answered), and a proposal asking for no entry comes out
// Unwritten as always.
func TestAppendErrorFailsTheBatch(t *testing.T) {
	log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 2})
	require.NoError(t, err)
	h := start(t, log, 2, 2, nil)
	require.NoError(t, log.Close()) // every Append now fails with wal.ErrClosed
	for i := range 3 {
		r := publish(t, &conn{}, "m")
		h.propose(t, uint32(i%2), r, messages(r))
	}
	none := publish(t, &conn{}, "dup")
	h.propose(t, 1, none, nil)
	h.stop(t)
	got := append(h.outputs(0), h.outputs(1)...)
	require.Len(t, got, 4)
	for _, o := range got {
		if o.Entry.Req == none {
			require.Equal(t, plog.Unwritten, o.Kind)
			continue
		}
		require.Equal(t, plog.Failed, o.Kind)
		require.ErrorIs(t, o.Err, wal.ErrClosed)
	}
}

// TestOutputsGoToTheWorkerInLogOrder: each outcome comes out on the ring of
// its partition's worker, and each partition's entries in index order with
// no gap, across batches.
func TestOutputsGoToTheWorkerInLogOrder(t *testing.T) {
	log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 4})
	require.NoError(t, err)
	defer func() { require.NoError(t, log.Close()) }()
	h := start(t, log, 4, 2, nil)
	const n = 40
	for i := range n {
		r := publish(t, &conn{}, "m")
		h.propose(t, uint32(i%4), r, messages(r))
	}
	h.stop(t)
	for w := range 2 {
		next := map[uint32]uint64{}
		got := h.outputs(w)
		require.Len(t, got, n/2)
		for _, o := range got {
			require.Equal(t, plog.Committed, o.Kind)
			require.Equal(t, w, int(o.Entry.Partition%2))
			next[o.Entry.Partition]++
			require.Equal(t, next[o.Entry.Partition], o.Entry.Index)
			o.Entry.Req.Release()
		}
	}
}

// TestNotLeaderFails: a proposal for a partition the owner table says this
// node does not lead fails with plog.ErrNotLeader and writes nothing.
func TestNotLeaderFails(t *testing.T) {
	log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 2})
	require.NoError(t, err)
	defer func() { require.NoError(t, log.Close()) }()
	h := start(t, log, 2, 1, nil)
	h.owners.SetLeader(1, false)
	a, b := publish(t, &conn{}, "a"), publish(t, &conn{}, "b")
	h.propose(t, 1, a, messages(a))
	h.propose(t, 0, b, messages(b))
	h.stop(t)
	got := h.outputs(0)
	require.Len(t, got, 2)
	require.Equal(t, plog.Failed, got[0].Kind)
	require.ErrorIs(t, got[0].Err, plog.ErrNotLeader)
	require.Equal(t, plog.Committed, got[1].Kind)
	require.Zero(t, log.LastIndex(1))
	require.Equal(t, uint64(1), log.LastIndex(0))
}

// TestClosedOutputAnswersAndReleases: an outcome whose fanout ring is
// closed is answered SHUTTING_DOWN on its connection, not dropped.
func TestClosedOutputAnswersAndReleases(t *testing.T) {
	log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, log.Close()) }()
	h := start(t, log, 1, 1, nil)
	h.out[0].Close()
	c := &conn{}
	r := publish(t, c, "m")
	h.propose(t, 0, r, messages(r))
	h.stop(t)
	require.Equal(t, []frame.Code{frame.CodeShuttingDown}, c.codes)
}
