package wal

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Pebble tuning for an append-mostly log trimmed by range deletions.
const (
	// memTableStopWrites lets a few full memtables queue behind a slow flush
	// before writes stall (Pebble's default is 2).
	memTableStopWrites = 4
	// l0CompactionThreshold lets L0 hold a few flushed memtables before
	// compacting them down (Pebble's default is 4). Log entries live
	// briefly: a flush drops the entries a trim's range deletion covers,
	// and an L0 table the trims cover whole goes in a delete-only
	// compaction. Compacting early only rewrote messages still waiting for
	// consumers: at 2, compactions took 20% of a node's CPU under a
	// publish-only load (1 M messages: 425 k → 508 k msg/s at 8, median of
	// 3, alternating).
	l0CompactionThreshold = 8
	// l0StopWrites is far above Pebble's default of 12: a burst is better
	// absorbed by a deeper L0 than by a write stall; the limit still bounds
	// read amplification for Replay.
	l0StopWrites = 64
	// flushDelayDeleteRange flushes a memtable holding a trim after this
	// delay, so the space of trimmed entries is reclaimed without waiting for
	// the memtable to fill.
	flushDelayDeleteRange = 10 * time.Second
)

// pebbleOptions returns the Pebble options of a log: Pebble's defaults, then
// the overrides above. Records are mostly AES-GCM sealed payloads, so block
// compression would spend CPU for nothing: it is off. No bloom filters: the
// log only seeks and scans. The logger and event listener are set before
// EnsureDefaults, which would otherwise bind the default event handlers to
// Pebble's stdlib logger (whose Fatalf exits the process); their error lines
// go through lim.
func pebbleOptions(o *Options, fs vfs.FS, lim *limiter) *pebble.Options {
	lg := o.Logger.With(slog.String("component", "pebble"))
	po := &pebble.Options{
		Logger:        pebbleLogger{lg: lg, lim: lim},
		EventListener: eventListener(lg, lim),
	}
	po.EnsureDefaults()
	po.FS = fs
	po.WithFSDefaults() // disk-stall detection, reported through DiskSlow
	po.FormatMajorVersion = pebble.FormatNewest
	po.MemTableSize = o.MemTableSize
	po.MemTableStopWritesThreshold = memTableStopWrites
	po.L0CompactionThreshold = l0CompactionThreshold
	po.L0StopWritesThreshold = l0StopWrites
	po.FlushDelayDeleteRange = flushDelayDeleteRange
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	return po
}

// eventListener reports the Pebble events an operator must see; the rest
// (flushes, compactions, file creation) stay silent. DataCorruption is only
// logged: the read that found it returns the error, while Pebble's default
// handler would call Fatalf. Background errors and low-disk warnings repeat
// while a disk is full (Pebble retries a failed flush at once, forever):
// they are rate-limited, and logged without the stack trace Pebble's errors
// carry.
func eventListener(lg *slog.Logger, lim *limiter) *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			lim.log(lg, slog.LevelError, "background", "pebble background error", slog.String("err", err.Error()))
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			lg.Error("pebble data corruption", slog.String("info", info.String()))
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			lim.log(lg, slog.LevelWarn, "disk-slow", "pebble disk slow", slog.String("info", info.String()))
		},
		LowDiskSpace: func(info pebble.LowDiskSpaceInfo) {
			lim.log(lg, slog.LevelWarn, "low-disk", "pebble low disk space", slog.String("info", info.String()))
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			lg.Warn("pebble write stall", slog.String("reason", info.Reason))
		},
		WriteStallEnd: func() {
			lg.Info("pebble write stall ended")
		},
	}
}

// fatalError is the panic value of pebbleLogger.Fatalf.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return "pebble fatal: " + e.msg }

// pebbleLogger routes Pebble's log lines to slog: Infof at Debug (WAL
// recovery and compaction chatter an operator rarely needs), Errorf at
// Error. Pebble assumes Fatalf does not return (its default exits the
// process), so Fatalf logs at Error and panics with a *fatalError. On the
// goroutine of a write, the Log recovers it and fails (see Log.applyLocked);
// on one of Pebble's own goroutines the panic ends the process. Errorf
// lines are rate-limited per format. It is safe for concurrent use.
type pebbleLogger struct {
	lg  *slog.Logger
	lim *limiter
}

func (p pebbleLogger) Infof(format string, args ...any) { p.log(slog.LevelDebug, format, args) }

func (p pebbleLogger) Errorf(format string, args ...any) {
	if !p.lg.Enabled(context.Background(), slog.LevelError) {
		return
	}
	p.lim.log(p.lg, slog.LevelError, "errorf:"+format, strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")
	p.lg.Error("pebble fatal", slog.String("msg", msg))
	panic(&fatalError{msg: msg})
}

func (p pebbleLogger) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !p.lg.Enabled(ctx, level) {
		return
	}
	p.lg.Log(ctx, level, strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"))
}

// syncTimingFS wraps the file system given to Pebble so that every fsync of
// a WAL file (*.log) is timed into swarmmq_wal_sync_seconds, and the
// creation of an sstable backs off after an ENOSPC (space.backoff). It is
// safe for concurrent use if the wrapped FS is.
type syncTimingFS struct {
	vfs.FS
	hist *metrics.PrometheusHistogram
	sp   *space
	quit <-chan struct{}
}

// Create implements vfs.FS.
func (fs *syncTimingFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if strings.HasSuffix(name, ".sst") {
		fs.sp.backoff(fs.quit)
	}
	f, err := fs.FS.Create(name, category)
	return fs.wrap(name, f, err)
}

// ReuseForWrite implements vfs.FS; Pebble recycles old WAL files with it.
func (fs *syncTimingFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wrap(newname, f, err)
}

// Unwrap implements vfs.FS.
func (fs *syncTimingFS) Unwrap() vfs.FS { return fs.FS }

func (fs *syncTimingFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &syncTimingFile{File: f, hist: fs.hist}, nil
}

// syncTimingFile times the durable syncs of one WAL file. It is as safe for
// concurrent use as the file it wraps.
type syncTimingFile struct {
	vfs.File
	hist *metrics.PrometheusHistogram
}

// Sync implements vfs.File.
func (f *syncTimingFile) Sync() error {
	start := time.Now()
	err := f.File.Sync()
	f.hist.UpdateDuration(start)
	return err
}

// SyncData implements vfs.File.
func (f *syncTimingFile) SyncData() error {
	start := time.Now()
	err := f.File.SyncData()
	f.hist.UpdateDuration(start)
	return err
}
