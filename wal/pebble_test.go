package wal

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func TestPebbleLogger(t *testing.T) {
	var buf bytes.Buffer
	lg := pebbleLogger{lg: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), lim: newLimiter(logEvery, time.Now)}
	lg.Infof("found %d WALs\n", 2)
	lg.Errorf("background error: %s", "boom")
	require.Contains(t, buf.String(), `level=DEBUG msg="found 2 WALs"`)
	require.Contains(t, buf.String(), `level=ERROR msg="background error: boom"`)

	defer func() {
		r := recover()
		fe, ok := r.(*fatalError)
		require.True(t, ok, "Fatalf panics with *fatalError, got %v", r)
		require.Equal(t, "pebble fatal: MANIFEST sync failed: disk", fe.Error())
		require.Contains(t, buf.String(), `level=ERROR msg="pebble fatal"`)
	}()
	lg.Fatalf("MANIFEST sync failed: %s", "disk")
	t.Fatal("Fatalf returned")
}

func TestPebbleLoggerIsQuietByDefault(t *testing.T) {
	var buf bytes.Buffer
	opts := memOptions(vfs.NewMem(), 1)
	opts.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l := mustOpen(t, opts)
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("x")}})
	require.NoError(t, l.db.Flush())
	require.NoError(t, l.Close())
	require.Empty(t, buf.String(), "nothing at Warn or above in normal operation")
}

// TestIntervalSyncerTicks runs the real ticker: an append under SyncInterval
// is followed by a WAL fsync within a few intervals.
func TestIntervalSyncerTicks(t *testing.T) {
	set := metrics.NewSet()
	opts := memOptions(vfs.NewMem(), 1)
	opts.Sync, opts.SyncInterval, opts.Metrics = SyncInterval, MinSyncInterval, set
	l := mustOpen(t, opts)
	syncs := func() float64 {
		n, _ := syncStats(set)
		return n
	}
	before := syncs()
	appendWait(t, l, []Entry{{Partition: 0, Data: []byte("x")}})
	require.Eventually(t, func() bool { return syncs() > before }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return !l.dirty.Load() }, 10*time.Second, time.Millisecond)
}
