package persist

import (
	"context"
	"testing"
	"time"

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
		// gnet's worker pool (imported through netio) starts these at init.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"))
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
	pub.Dest, pub.Open, pub.Results = []byte("q"), 1, make([]frame.AckEntry, 1)
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
