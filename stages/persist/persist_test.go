package persist

import (
	"context"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
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
	r.Results = make([]frame.AckEntry, p.Count)
	r.Open = int(p.Count)
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
