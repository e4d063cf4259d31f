package wal

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

const testMinFree = 1 << 20

// syncBuf is a log sink safe for the goroutines of a Log.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// spaceLog opens a log on fs (whose usage the test sets) with a 1 MiB
// reserve; the test runs the free-space checks itself.
func spaceLog(t *testing.T, fs vfs.FS, set *metrics.Set, buf *syncBuf) *Log {
	t.Helper()
	return spaceLogClock(t, fs, set, buf, time.Now)
}

func spaceLogClock(t *testing.T, fs vfs.FS, set *metrics.Set, buf *syncBuf, now func() time.Time) *Log {
	t.Helper()
	opts := memOptions(fs, 2)
	opts.MinFree, opts.Metrics = testMinFree, set
	opts.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l, err := open(opts, hooks{manual: true, now: now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func setFree(fs *vfs.MemFS, free uint64) {
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: free, TotalBytes: 1 << 30, UsedBytes: 1<<30 - free})
}

func gauge(set *metrics.Set, name string) float64 {
	return set.GetOrCreateGauge(name, nil).Get()
}

// TestDiskFullThreshold: below the reserve the log reports disk full (and
// logs the transition at ERROR); appends still work (acks free space); it
// recovers by itself above the hysteresis mark, not before.
func TestDiskFullThreshold(t *testing.T) {
	fs := vfs.NewMem()
	setFree(fs, 10<<20)
	set, buf := metrics.NewSet(), &syncBuf{}
	l := spaceLog(t, fs, set, buf)
	st, err := l.Health()
	require.Equal(t, HealthOK, st)
	require.NoError(t, err)
	require.NoError(t, l.DiskFull())
	_, err = fs.Stat("db/" + BallastName)
	require.NoError(t, err, "a ballast file is made when there is room")
	require.Equal(t, float64(10<<20), gauge(set, "swarmmq_wal_disk_free_bytes"))

	setFree(fs, testMinFree/2)
	l.checkSpace()
	st, err = l.Health()
	require.Equal(t, HealthDiskFull, st)
	require.ErrorIs(t, err, ErrDiskFull)
	require.ErrorIs(t, l.DiskFull(), ErrDiskFull)
	require.ErrorContains(t, l.DiskFull(), "512.0 KiB free")
	require.Equal(t, float64(1), gauge(set, "swarmmq_wal_disk_full"))
	require.Contains(t, buf.String(), `level=ERROR msg="storage health changed" from=ok to=disk_full`)
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("an ack")}})

	// Above the reserve but below the hysteresis mark: still full.
	setFree(fs, testMinFree+testMinFree/8)
	l.checkSpace()
	require.ErrorIs(t, l.DiskFull(), ErrDiskFull)
	setFree(fs, 4<<20)
	l.checkSpace()
	require.NoError(t, l.DiskFull())
	require.Equal(t, float64(0), gauge(set, "swarmmq_wal_disk_full"))
	require.Contains(t, buf.String(), `level=ERROR msg="storage health changed" from=disk_full to=ok`)
	require.NoError(t, l.Err())
}

// TestDiskFullReminder: while the disk stays full, a WARN reminder at
// most once a minute (the transition line said it first).
func TestDiskFullReminder(t *testing.T) {
	fs := vfs.NewMem()
	setFree(fs, testMinFree/2)
	var now atomic.Int64
	buf := &syncBuf{}
	l := spaceLogClock(t, fs, metrics.NewSet(), buf, func() time.Time { return time.Unix(0, now.Load()) })
	require.ErrorIs(t, l.DiskFull(), ErrDiskFull)
	const reminder = `level=WARN msg="storage refuses new messages: disk full"`
	for range 100 {
		l.checkSpace()
	}
	require.Equal(t, 1, strings.Count(buf.String(), "storage health changed"))
	require.NotContains(t, buf.String(), reminder)
	now.Add(int64(remindEvery))
	for range 100 {
		l.checkSpace()
	}
	require.Equal(t, 1, strings.Count(buf.String(), reminder))
}

// TestHealthFailedLogged: a failed WAL sync turns the health to failed,
// logged at ERROR with the cause.
func TestHealthFailedLogged(t *testing.T) {
	mem := vfs.NewMem()
	setFree(mem, 10<<20)
	fault := &fileFault{match: ".log", kinds: syncOps}
	buf := &syncBuf{}
	l := spaceLog(t, errorfs.Wrap(mem, fault), metrics.NewSet(), buf)
	fault.on.Store(true)
	p, err := l.Append([]Entry{{Partition: 0, Data: []byte("lost")}}, make([]uint64, 1))
	require.NoError(t, err)
	require.ErrorIs(t, p.Wait(), ErrFailed)
	st, err := l.Health()
	require.Equal(t, HealthFailed, st)
	require.ErrorIs(t, err, errorfs.ErrInjected)
	require.Contains(t, buf.String(), `level=ERROR msg="storage health changed" from=ok to=failed cause="swarmmq/wal: log failed, reopen required: WAL sync failed`)
	_ = l.Close()
}

// TestDiskFullEstimate: appends lower the estimate of the free space, and
// crossing the reserve asks for a check at once.
func TestDiskFullEstimate(t *testing.T) {
	fs := vfs.NewMem()
	setFree(fs, testMinFree+64<<10)
	l := spaceLog(t, fs, metrics.NewSet(), &syncBuf{})
	require.Empty(t, l.sp.kick)
	appendWait(t, l, []Entry{{Partition: 0, Data: make([]byte, 32<<10)}})
	require.Empty(t, l.sp.kick, "still above the reserve")
	appendWait(t, l, []Entry{{Partition: 0, Data: make([]byte, 48<<10)}})
	require.Len(t, l.sp.kick, 1, "below the reserve by the estimate: check now")
}

// noSpaceOnce answers ENOSPC to the first write of a WAL file once armed,
// as a disk that fills up and then gets the ballast's room back.
type noSpaceOnce struct {
	armed atomic.Bool
	hits  atomic.Int32
}

func (n *noSpaceOnce) String() string { return "noSpaceOnce" }

func (n *noSpaceOnce) MaybeError(op errorfs.Op) error {
	if op.Kind == errorfs.OpFileWrite && strings.HasSuffix(op.Path, ".log") && n.armed.CompareAndSwap(true, false) {
		n.hits.Add(1)
		return syscall.ENOSPC
	}
	return nil
}

// TestDiskFullENOSPC: an ENOSPC releases the ballast, marks the disk full
// at once, and the write that met it is retried and succeeds: the log does
// not fail. Once there is room again, the ballast comes back.
func TestDiskFullENOSPC(t *testing.T) {
	mem := vfs.NewMem()
	setFree(mem, 10<<20)
	inj := &noSpaceOnce{}
	set, buf := metrics.NewSet(), &syncBuf{}
	l := spaceLog(t, errorfs.Wrap(mem, inj), set, buf)
	require.True(t, l.sp.hasBallast.Load())

	inj.armed.Store(true)
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("met ENOSPC")}})
	require.Equal(t, int32(1), inj.hits.Load())
	require.NoError(t, l.Err(), "the retried write succeeded")
	require.ErrorIs(t, l.DiskFull(), ErrDiskFull)
	require.ErrorContains(t, l.DiskFull(), "ENOSPC; released the 256.0 KiB ballast file")
	_, err := mem.Stat("db/" + BallastName)
	require.Error(t, err, "ballast released")
	require.Equal(t, uint64(1), set.GetOrCreateCounter("swarmmq_wal_no_space_total").Get())
	require.Equal(t, []rec{{1, "met ENOSPC"}}, replayAll(t, l, 0, 0))

	l.checkSpace() // figures show room: ballast re-created, ok again
	require.NoError(t, l.DiskFull())
	_, err = mem.Stat("db/" + BallastName)
	require.NoError(t, err)
	require.Contains(t, buf.String(), `to=disk_full cause="swarmmq/wal: disk full: the file system of db answered ENOSPC`)
}

// TestOpenReadOnlyOnFullDisk: a log reopened when its WAL's flush would
// not fit opens read-only at once (instead of retrying the flush forever
// inside pebble.Open): reads work, writes are refused with ErrDiskFull (not
// a failure); once space returns it reopens for writes by itself.
func TestOpenReadOnlyOnFullDisk(t *testing.T) {
	mem := vfs.NewMem()
	setFree(mem, 10<<20)
	full := &sstNoSpace{}
	fs := errorfs.Wrap(mem, full)
	l := spaceLog(t, fs, metrics.NewSet(), &syncBuf{})
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("kept")}, {Partition: 1, Data: make([]byte, 64<<10)}})
	require.NoError(t, l.Close())

	// No sstable can be written: a read-write open would retry the flush
	// of the WAL forever.
	setFree(mem, testMinFree/4)
	full.on.Store(true)
	buf := &syncBuf{}
	l = spaceLog(t, fs, metrics.NewSet(), buf)
	st, err := l.Health()
	require.Equal(t, HealthDiskFull, st)
	require.ErrorContains(t, err, "opened read-only")
	require.Contains(t, buf.String(), `level=ERROR msg="storage health changed" from=ok to=disk_full`)
	require.Equal(t, []rec{{1, "kept"}}, replayAll(t, l, 0, 0))
	got, err := l.Read(0, 1, nil)
	require.NoError(t, err)
	require.Equal(t, "kept", string(got))
	_, err = l.Append([]Entry{{Partition: 0, Data: []byte("refused")}}, make([]uint64, 1))
	require.ErrorIs(t, err, ErrDiskFull)
	require.NotErrorIs(t, err, ErrFailed)
	require.ErrorIs(t, l.SaveSnapshot(0, 1, 1, nil), ErrDiskFull)
	require.NoError(t, l.Err())

	l.checkSpace() // still no room: stays read-only
	require.True(t, l.ro.Load())
	full.on.Store(false)
	setFree(mem, 10<<20)
	l.checkSpace() // reopens for writes
	require.False(t, l.ro.Load())
	require.Equal(t, []uint64{2}, appendWait(t, l, []Entry{{Partition: 0, Data: []byte("after")}}))
	l.checkSpace() // room above the hysteresis mark: ok
	require.NoError(t, l.DiskFull())
	require.Equal(t, []rec{{1, "kept"}, {2, "after"}}, replayAll(t, l, 0, 0))
	require.NoError(t, l.Close())
}

// sstNoSpace answers ENOSPC to every creation of an sstable while on.
type sstNoSpace struct{ on atomic.Bool }

func (n *sstNoSpace) String() string { return "sstNoSpace" }

func (n *sstNoSpace) MaybeError(op errorfs.Op) error {
	if n.on.Load() && op.Kind == errorfs.OpCreate && strings.HasSuffix(op.Path, ".sst") {
		return syscall.ENOSPC
	}
	return nil
}

// TestLimiter: one line per kind and interval; the next says how many were
// left out.
func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	r := newLimiter(10*time.Second, func() time.Time { return now })
	var buf bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&buf, nil))
	ev := eventListener(lg, r)
	boom := errors.New("write 000123.sst: no space left on device")
	for range 100 {
		ev.BackgroundError(boom)
	}
	ev.LowDiskSpace(pebble.LowDiskSpaceInfo{})
	require.Equal(t, 2, strings.Count(buf.String(), "\n"), buf.String())
	now = now.Add(10 * time.Second)
	ev.BackgroundError(boom)
	require.Contains(t, buf.String(), `msg="pebble background error" err="write 000123.sst: no space left on device" suppressed=99`)
	require.Equal(t, 3, strings.Count(buf.String(), "\n"))
}

// TestNoSpaceBackoff: after an ENOSPC, while the disk is full, creating an
// sstable waits noSpaceBackoff (Pebble retries a failed flush at once,
// forever), and not at all otherwise.
func TestNoSpaceBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSpace(&Options{Dir: "db", MinFree: testMinFree}, vfs.NewMem(), time.Now, metrics.NewSet())
		quit := make(chan struct{})
		start := time.Now()
		s.backoff(quit)
		require.Zero(t, time.Since(start), "no ENOSPC yet")
		s.noSpace.Store(time.Now().UnixNano())
		s.backoff(quit)
		require.Zero(t, time.Since(start), "not full")
		s.setFull(ErrDiskFull, true)
		s.backoff(quit)
		require.Equal(t, noSpaceBackoff, time.Since(start))
		s.backoff(quit)
		require.Equal(t, noSpaceBackoff, time.Since(start), "the backoff has passed")
		s.noSpace.Store(time.Now().UnixNano())
		close(quit)
		s.backoff(quit)
		require.Equal(t, noSpaceBackoff, time.Since(start), "quit ends the wait")
	})
}
