package wal

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The free-space reserve (see "Disk space" in the package documentation).
const (
	// spaceCheckEvery is the period of the free-space check.
	spaceCheckEvery = 250 * time.Millisecond
	// resumeDiv sets the hysteresis: a disk-full Log is usable again once
	// the free space is back above MinFree + MinFree/resumeDiv.
	resumeDiv = 4
	// ballastDiv and maxBallast size the ballast file: MinFree/ballastDiv
	// bytes, at most maxBallast.
	ballastDiv = 4
	maxBallast = 64 << 20
	// BallastName is the name of the ballast file in Options.Dir.
	BallastName = "SWARMMQ-BALLAST"
	// noSpaceBackoff is how long the creation of an sstable waits after the
	// file system answered ENOSPC, so that Pebble's retries of a failing
	// flush (which it otherwise repeats at once, forever) cost no CPU.
	noSpaceBackoff = time.Second
	// remindEvery is the shortest interval between two reminders that
	// writes are refused.
	remindEvery = time.Minute
)

// space watches the free space of the file system of the log. The fields
// are atomics: the checking goroutine writes them, appends and Pebble's
// ENOSPC callback read and poke them. Safe for concurrent use.
type space struct {
	fs      vfs.FS // the file system under the ENOSPC wrapper (holds the ballast)
	dir     string
	min     uint64 // the reserve, 0 = none
	ballast int64  // size of the ballast file, 0 = none
	usage   func() (vfs.DiskUsage, error)
	now     func() time.Time

	est        atomic.Int64              // free bytes: last check minus bytes appended since
	full       atomic.Pointer[fullState] // nil while there is room
	noSpace    atomic.Int64              // unix ns of the last ENOSPC, 0 = none
	hasBallast atomic.Bool
	kick       chan struct{} // one slot: check now

	freeG, fullG *metrics.Gauge
	noSpaceC     *metrics.Counter
}

// fullState is why a Log refuses growth; err wraps ErrDiskFull. A reason
// that is not a figure below the reserve (an ENOSPC, a read-only open)
// stays as it is until the Log recovers.
type fullState struct {
	err   error
	fixed bool
}

func newSpace(o *Options, fs vfs.FS, now func() time.Time, m *metrics.Set) *space {
	s := &space{fs: fs, dir: o.Dir, now: now, kick: make(chan struct{}, 1),
		freeG:    m.GetOrCreateGauge("swarmmq_wal_disk_free_bytes", nil),
		fullG:    m.GetOrCreateGauge("swarmmq_wal_disk_full", nil),
		noSpaceC: m.GetOrCreateCounter("swarmmq_wal_no_space_total"),
	}
	s.usage = o.DiskUsage
	if s.usage == nil {
		s.usage = func() (vfs.DiskUsage, error) { return fs.GetDiskUsage(o.Dir) }
	}
	if o.MinFree > 0 {
		s.min = uint64(o.MinFree)
		s.ballast = min(o.MinFree/ballastDiv, maxBallast)
	}
	return s
}

// wrote notes n bytes appended; once the estimate of the free space falls
// below the reserve it asks for a check now. It costs an atomic add.
func (s *space) wrote(n int) {
	if s.min > 0 && s.est.Add(-int64(n)) < int64(s.min) {
		s.poke()
	}
}

// poke asks the checking goroutine for a check now.
func (s *space) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// err returns why the Log refuses growth, or nil.
func (s *space) err() error {
	if f := s.full.Load(); f != nil {
		return f.err
	}
	return nil
}

func (s *space) setFull(err error, fixed bool) {
	s.full.Store(&fullState{err: err, fixed: fixed})
	s.fullG.Set(1)
}

func (s *space) clearFull() {
	s.full.Store(nil)
	s.fullG.Set(0)
}

// measure reads the free bytes; known is false when the file system cannot
// tell (vfs.MemFS without test figures), err is any other failure.
func (s *space) measure() (free uint64, known bool, err error) {
	u, err := s.usage()
	switch {
	case errors.Is(err, vfs.ErrUnsupported):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("cannot read the free space of %s: %w", s.dir, err)
	}
	s.est.Store(int64(min(u.AvailBytes, 1<<62)))
	s.freeG.Set(float64(u.AvailBytes))
	return u.AvailBytes, true, nil
}

// belowReserve is the disk-full reason of a check that found free bytes.
func (s *space) belowReserve(free uint64) error {
	return fmt.Errorf("%w: %s free on the file system of %s, reserve (min free) %s; "+
		"new messages are refused until %s are free", ErrDiskFull, bytesText(free), s.dir,
		bytesText(s.min), bytesText(s.resumeAt()))
}

// resumeAt is the free space at which a disk-full Log takes new messages
// again: the reserve, the hysteresis, and room to re-create the ballast.
func (s *space) resumeAt() uint64 {
	return s.min + s.min/resumeDiv + uint64(s.ballast)
}

// backoff waits, before Pebble creates an sstable, until noSpaceBackoff has
// passed since the last ENOSPC while the disk is full (with no reserve,
// after any ENOSPC), or until quit.
func (s *space) backoff(quit <-chan struct{}) {
	at := s.noSpace.Load()
	if at == 0 || (s.min > 0 && s.full.Load() == nil) {
		return
	}
	d := time.Duration(at + int64(noSpaceBackoff) - s.now().UnixNano())
	if d <= 0 {
		return
	}
	t := time.NewTimer(min(d, noSpaceBackoff))
	defer t.Stop()
	select {
	case <-t.C:
	case <-quit:
	}
}

// ballastPath is the path of the ballast file.
func (s *space) ballastPath() string { return s.fs.PathJoin(s.dir, BallastName) }

// makeBallast writes the ballast file (zeros, synced), replacing a file of
// another size. A failure removes what was written.
func (s *space) makeBallast() error {
	path := s.ballastPath()
	if st, err := s.fs.Stat(path); err == nil && st.Size() == s.ballast {
		s.hasBallast.Store(true)
		return nil
	}
	f, err := s.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("cannot create the ballast file %s: %w", path, err)
	}
	buf := make([]byte, 64<<10)
	for n := int64(0); n < s.ballast && err == nil; n += int64(len(buf)) {
		_, err = f.Write(buf[:min(int64(len(buf)), s.ballast-n)])
	}
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		_ = s.fs.Remove(path)
		return fmt.Errorf("cannot write the ballast file %s: %w", path, err)
	}
	s.hasBallast.Store(true)
	return nil
}

// releaseBallast removes the ballast file, if there is one, and reports
// whether it did.
func (s *space) releaseBallast() bool {
	return s.hasBallast.Swap(false) && s.fs.Remove(s.ballastPath()) == nil
}

// bytesText formats n bytes for log lines and /health.
func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
