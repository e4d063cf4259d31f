package wal

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Health states of a Log, as Health returns them.
const (
	// HealthOK: the Log takes every write.
	HealthOK = "ok"
	// HealthDiskFull: the free space is below the reserve (or the file
	// system answered ENOSPC, or the Log runs read-only): DiskFull returns
	// the reason; the Log recovers by itself once space returns.
	HealthDiskFull = "disk_full"
	// HealthFailed: a write or sync failed; Err returns it; only a reopen
	// recovers.
	HealthFailed = "failed"
)

// Health returns the Log's state (HealthOK, HealthDiskFull or
// HealthFailed) and, unless ok, the error that explains it. Safe for
// concurrent use; it reads two atomics when the Log is ok.
func (l *Log) Health() (string, error) {
	if l.failed.Load() {
		return HealthFailed, l.failure()
	}
	if err := l.sp.err(); err != nil {
		return HealthDiskFull, err
	}
	return HealthOK, nil
}

// state is Health without the reason; it takes no lock.
func (l *Log) state() string {
	switch {
	case l.failed.Load():
		return HealthFailed
	case l.sp.full.Load() != nil:
		return HealthDiskFull
	}
	return HealthOK
}

// DiskFull returns nil while the file system of the log has room, else an
// error wrapping ErrDiskFull that says why: the free space is below
// Options.MinFree, the file system answered ENOSPC, or the Log was opened
// read-only on a nearly full disk. Callers refuse what grows the log (new
// messages) and keep writing what lets space be reclaimed (acks). It is one
// atomic load; safe for concurrent use.
func (l *Log) DiskFull() error { return l.sp.err() }

// report logs an ERROR line when the Log's health differs from the last
// one reported. It takes no lock of the Log's own, so it may be called
// with mu held.
func (l *Log) report(cause string) {
	to := l.state()
	l.rep.Lock()
	from := l.rep.state
	l.rep.state = to
	l.rep.Unlock()
	if from == to {
		return
	}
	l.lg.Error("storage health changed", slog.String("from", from), slog.String("to", to),
		slog.String("cause", cause), slog.String("dir", l.sp.dir))
	if to == HealthDiskFull {
		l.remind.allow("full") // the transition said it: the first reminder comes later
	}
}

// startSpace starts the goroutine that checks the free space every
// spaceCheckEvery, or at once when poked.
func (l *Log) startSpace() {
	if l.hooks.manual {
		return
	}
	l.wg.Go(func() {
		t := time.NewTicker(spaceCheckEvery)
		defer t.Stop()
		labels := pprof.Labels("swarmmq", "wal-space")
		pprof.Do(context.Background(), labels, func(context.Context) { l.spaceLoop(t.C) })
	})
}

func (l *Log) spaceLoop(tick <-chan time.Time) {
	for {
		select {
		case <-l.quit:
			return
		case <-tick:
		case <-l.sp.kick:
		}
		l.checkSpace()
	}
}

// checkSpace measures the free space and moves the Log between ok and
// disk full; a read-only Log is reopened for writes once the flush of its
// WAL fits.
func (l *Log) checkSpace() {
	s := l.sp
	free, known, err := s.measure()
	if err != nil {
		l.lim.log(l.lg, slog.LevelWarn, "disk-usage", "free space unknown", slog.String("err", err.Error()))
		return
	}
	if l.ro.Load() {
		if known && free >= l.roNeed {
			l.reopen(free)
		}
		l.remindFull()
		return
	}
	cur := s.full.Load()
	switch {
	case cur == nil && known && s.min > 0 && free < s.min:
		s.setFull(s.belowReserve(free), false)
		l.report(s.err().Error())
	case cur != nil && l.roomAgain(free, known):
		s.clearFull()
		l.report(fmt.Sprintf("%s free again, at least %s", bytesText(free), bytesText(s.resumeAt())))
	case cur != nil:
		if known && !cur.fixed {
			s.setFull(s.belowReserve(free), false) // keep the figure in /health current
		}
		l.remindFull()
	}
}

// roomAgain reports whether a disk-full Log may take new messages again:
// the free space is back above resumeAt and the ballast is in place
// (re-created here if it was released). With no figures from the file
// system (tests on vfs.MemFS), noSpaceBackoff after the last ENOSPC.
func (l *Log) roomAgain(free uint64, known bool) bool {
	s := l.sp
	if !known {
		return s.now().UnixNano()-s.noSpace.Load() >= int64(noSpaceBackoff)
	}
	if free < s.resumeAt() {
		return false
	}
	if s.ballast > 0 && !s.hasBallast.Load() {
		if err := s.makeBallast(); err != nil {
			l.lim.log(l.lg, slog.LevelWarn, "ballast", "cannot re-create the ballast file", slog.String("err", err.Error()))
			return false
		}
	}
	return true
}

// remindFull logs, at most once per remindEvery, that writes are refused.
func (l *Log) remindFull() {
	err := l.sp.err()
	if err == nil {
		return
	}
	if ok, _ := l.remind.allow("full"); ok {
		l.lg.Warn("storage refuses new messages: disk full", slog.String("reason", err.Error()))
	}
}

// onNoSpace is Pebble's ENOSPC callback (vfs.OnDiskFull): every write
// waits while it runs, and the write that failed is retried once after.
// It releases the ballast, so that the retry (and the flushes and
// compactions that follow) find room, and marks the disk full at once.
func (l *Log) onNoSpace() {
	s := l.sp
	s.noSpaceC.Inc()
	s.noSpace.Store(s.now().UnixNano())
	if s.min == 0 {
		return // no reserve: nothing watches the space, so nothing would clear the state
	}
	note := "no ballast file to release"
	if s.releaseBallast() {
		note = fmt.Sprintf("released the %s ballast file", bytesText(uint64(s.ballast)))
	}
	s.setFull(fmt.Errorf("%w: the file system of %s answered ENOSPC; %s", ErrDiskFull, s.dir, note), true)
	l.report(s.err().Error())
	s.poke()
}

// openPebble opens Pebble, read-only when the flush of the WAL it would
// replay does not fit. pebble.Open flushes that WAL before it returns and
// retries a failing flush forever, so on a nearly full disk it would
// never return. When the WAL files in Dir (live or kept for recycling)
// would not leave half the reserve free, Pebble opens read-only first: its
// memtables then hold what the flush would write, and if that fits after
// all, Pebble is reopened read-write at once. need is the free space a
// read-write open needs.
func (l *Log) openPebble() (db *pebble.DB, readOnly bool, need uint64, err error) {
	s := l.sp
	wal := l.walBytes()
	free, known, merr := s.measure()
	if s.min == 0 || merr != nil || !known || wal == 0 || free >= wal+s.min/2 {
		db, err = pebble.Open(s.dir, l.pebbleOpts(false))
		return db, false, 0, err
	}
	if db, err = pebble.Open(s.dir, l.pebbleOpts(true)); err != nil {
		return nil, false, 0, err
	}
	// What the flush writes is what the replay put in the memtables (their
	// arenas: a slight overestimate). The read-only WAL metrics do not
	// count the live WAL whole.
	need = db.Metrics().MemTable.Size + s.min/2
	if free < need {
		return db, true, need, nil
	}
	if err := db.Close(); err != nil {
		return nil, false, 0, err
	}
	db, err = pebble.Open(s.dir, l.pebbleOpts(false))
	return db, false, 0, err
}

// walBytes is the size of the WAL files in the log's directory.
func (l *Log) walBytes() uint64 {
	s := l.sp
	names, err := s.fs.List(s.dir)
	if err != nil {
		return 0
	}
	var n uint64
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		if st, err := s.fs.Stat(s.fs.PathJoin(s.dir, name)); err == nil {
			n += uint64(st.Size())
		}
	}
	return n
}

// roErr is why a read-only Log refuses a write: its failure if a reopen
// failed, else the disk-full reason. The caller holds life.
func (l *Log) roErr() error {
	if err := l.failure(); err != nil {
		return err
	}
	if err := l.sp.err(); err != nil {
		return err
	}
	return fmt.Errorf("%w: the log is open read-only", ErrDiskFull)
}

// reopen replaces the read-only Pebble of a Log opened on a nearly full
// disk with a read-write one, once the flush of the WAL fits. If that
// fails, it goes back to read-only; if even that fails, the Log fails.
func (l *Log) reopen(free uint64) {
	l.life.Lock()
	defer l.life.Unlock()
	if l.closed || !l.ro.Load() || l.db == nil { // nil: a reopen failed, the Log failed
		return
	}
	closeErr := l.db.Close()
	db, err := pebble.Open(l.sp.dir, l.pebbleOpts(false))
	if err != nil {
		l.lg.Error("cannot reopen the log for writes", slog.String("err", err.Error()),
			slog.Any("close_err", closeErr))
		if db, err = pebble.Open(l.sp.dir, l.pebbleOpts(true)); err != nil {
			l.db = nil
			_ = l.fail(fmt.Errorf("cannot reopen pebble read-only: %w", err), false)
			return
		}
		l.db = db
		return
	}
	l.db = db
	l.ro.Store(false)
	// Acks are taken again; new messages once the next checks find room
	// above the reserve (and re-create the ballast).
	l.sp.setFull(l.sp.belowReserve(free), false)
	l.lg.Info("the log is open for writes again", slog.String("free", bytesText(free)),
		slog.String("dir", l.sp.dir))
	l.sp.poke()
}
