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

// conn is a work.Conn that is open or closed.
type conn struct{ closed bool }

func (c *conn) Send([]byte) error                          { return nil }
func (c *conn) SendError(uint64, frame.Code, string) error { return nil }
func (c *conn) Closed() bool                               { return c.closed }
func (c *conn) MaxFrame() int                              { return 1 << 20 }

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

// TestClosedConnectionsPublishNotWritten: a PUBLISH whose connection closed
// before persist took it is not written (nobody was promised anything); it
// goes on to fanout unwritten and unanswered.
func TestClosedConnectionsPublishNotWritten(t *testing.T) {
	log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = log.Close() }()
	in, out := graph.NewRing[*work.Request](8), graph.NewRing[*work.Request](8)
	set := metrics.NewSet()
	s, err := New(Options{Metrics: set}, Deps{In: in, Fanout: []*graph.Ring[*work.Request]{out}, Log: log,
		Now: func() int64 { return time.Now().UnixNano() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = in.Push(ctx, publish(t, &conn{closed: true}, "gone"))
	_ = in.Push(ctx, publish(t, &conn{}, "kept"))
	var got []*work.Request
	deadline := time.After(10 * time.Second)
	for len(got) < 2 {
		got = out.PopBatch(got, 2-len(got))
		if len(got) < 2 {
			select {
			case <-out.C():
			case <-deadline:
				t.Fatalf("got %d requests", len(got))
			}
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got[0].Index != 0 || got[0].Conn != nil || got[0].Err != nil {
		t.Errorf("closed connection's publish: index %d conn %v err %v", got[0].Index, got[0].Conn, got[0].Err)
	}
	if got[1].Index == 0 || got[1].Err != nil {
		t.Errorf("open connection's publish: index %d err %v", got[1].Index, got[1].Err)
	}
	if n := s.abandoned.Get(); n != 1 {
		t.Errorf("abandoned %d, want 1", n)
	}
}

// TestDiskFullRefusesPublishesOnly: while the log reports the disk full, a
// PUBLISH with open messages is not written (its Err wraps
// wal.ErrDiskFull, no index), and an ACK in the same drain still is.
func TestDiskFullRefusesPublishesOnly(t *testing.T) {
	fs := vfs.NewMem()
	log, err := wal.Open(wal.Options{Dir: "db", FS: fs, Partitions: 1, MinFree: 1 << 20, MemTableSize: 256 << 10,
		DiskUsage: func() (vfs.DiskUsage, error) { return vfs.DiskUsage{AvailBytes: 512 << 10, TotalBytes: 1 << 30}, nil }})
	require.NoError(t, err)
	defer func() { require.NoError(t, log.Close()) }()
	require.ErrorIs(t, log.DiskFull(), wal.ErrDiskFull)

	in, out := graph.NewRing[*work.Request](16), graph.NewRing[*work.Request](16)
	s, err := New(Options{}, Deps{In: in, Fanout: []*graph.Ring[*work.Request]{out}, Log: log,
		Now: func() int64 { return time.Now().UnixNano() }})
	require.NoError(t, err)
	pub := work.NewRequest(work.KindPublish, netio.Inbound{})
	pub.Dest = []byte("q")
	pub.StartResults(1)
	ack := work.NewRequest(work.KindAck, netio.Inbound{})
	ack.Dest, ack.Group, ack.Seqs = []byte("q"), []byte("g"), []uint64{1}
	require.True(t, in.TryPush(pub))
	require.True(t, in.TryPush(ack))
	require.NoError(t, s.Start())

	var got []*work.Request
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		select {
		case <-out.C():
		case <-time.After(100 * time.Millisecond):
		}
		got = out.PopBatch(got, 2)
	}
	require.Len(t, got, 2)
	require.Same(t, pub, got[0], "order kept")
	require.ErrorIs(t, pub.Err, wal.ErrDiskFull)
	require.Zero(t, pub.Index)
	require.NoError(t, ack.Err)
	require.Equal(t, uint64(1), ack.Index, "the ack is written")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
}
