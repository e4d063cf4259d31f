package wal

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt marks an entry, snapshot or marker whose bytes fail their
	// checksum or layout checks, or a gap in a partition's indexes. Test with
	// IsCorrupt or errors.Is.
	ErrCorrupt = errors.New("swarmmq/wal: corrupt data")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("swarmmq/wal: log closed")
	// ErrFailed marks the sticky failure of a Log after a write or sync
	// error: the outcome of the appends in flight is unknown and every later
	// call fails. The process should stop and reopen the log, which replays
	// Pebble's WAL. Errors carrying ErrFailed also wrap the cause.
	ErrFailed = errors.New("swarmmq/wal: log failed, reopen required")
	// ErrNotFound is returned by Read for an entry that is not in the log
	// (never appended, or trimmed by a snapshot).
	ErrNotFound = errors.New("swarmmq/wal: no such entry")
	// ErrDiskFull marks the refusal of writes that would grow the log while
	// the file system of its directory is nearly full (see Log.DiskFull).
	// It is not a failure: the Log recovers by itself once space returns.
	// Errors carrying it also say why.
	ErrDiskFull = errors.New("swarmmq/wal: disk full")
)

// IsCorrupt reports whether err marks corrupt data.
func IsCorrupt(err error) bool {
	return errors.Is(err, ErrCorrupt)
}

// corruptf returns an error marked with ErrCorrupt.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
