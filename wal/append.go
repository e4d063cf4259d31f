package wal

import (
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// Entry is one record to append to a partition's log. Append only reads it.
type Entry struct {
	// Partition is the partition whose log receives the record.
	Partition uint32
	// Data is the encoded record. Append copies it.
	Data []byte
}

// Pending is the durability of one Append. Wait returns once the batch is
// durable as the SyncPolicy defines. A Pending belongs to the goroutine that
// called Append: it is not safe for concurrent use; Wait may be called more
// than once and returns the same result.
type Pending struct {
	l   *Log          // nil: nothing was appended
	b   *pebble.Batch // batch whose fsync is awaited; nil once waited
	err error         // result of the first Wait under SyncAlways
}

// Wait returns nil once the appended batch is durable. Under SyncAlways that
// is after the fsync covering the batch; an error means that fsync (or the
// write before it) failed, the batch may or may not survive a crash, and the
// Log has failed (ErrFailed). Under SyncInterval Wait returns at once: nil,
// or the Log's failure if it failed since.
//
// Wait may be called after Close. A Pending never waited for costs nothing
// but its batch, left to the garbage collector.
func (p *Pending) Wait() error {
	switch {
	case p.l == nil:
		return nil
	case p.b != nil:
		p.err = p.l.syncWait(p.b)
		p.b = nil
		return p.err
	case p.err != nil:
		return p.err
	case p.l.policy == SyncInterval:
		return p.l.failure()
	}
	return nil
}

// Append writes entries as one Pebble batch and returns at once, before the
// fsync; the returned Pending waits for it. Each entry gets the next index of
// its partition, written to indexes[i] (indexes needs at least len(entries)
// elements). Indexes of a partition start at 1, have no gaps, and their
// order is the commit order, also across concurrent callers. Append is safe
// for concurrent use; call it again before waiting on the previous Pending
// to overlap building batch N+1 with the fsync of batch N.
func (l *Log) Append(entries []Entry, indexes []uint64) (*Pending, error) {
	size, n, err := l.checkEntries(entries, indexes)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return &l.empty, nil
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	if l.ro.Load() {
		return nil, l.roErr()
	}
	b := l.db.NewBatchWithSize(size)
	if err := l.appendLocked(b, entries, indexes); err != nil {
		return nil, err
	}
	l.m.batches.Inc()
	l.m.entries.Add(len(entries))
	l.m.bytes.Add(n)
	l.sp.wrote(size)
	if l.policy == SyncInterval {
		_ = b.Close()
		return &l.applied, nil
	}
	return &Pending{l: l, b: b}, nil
}

// checkEntries validates the arguments of Append and returns the size of the
// Pebble batch that holds the entries and the bytes of their records.
func (l *Log) checkEntries(entries []Entry, indexes []uint64) (size, n int, err error) {
	if len(indexes) < len(entries) {
		return 0, 0, fmt.Errorf("swarmmq/wal: %d indexes for %d entries", len(indexes), len(entries))
	}
	size = 12 // batch header
	for i := range entries {
		if err := l.checkPartition(entries[i].Partition); err != nil {
			return 0, 0, fmt.Errorf("entry %d: %w", i, err)
		}
		n += len(entries[i].Data)
		// kind, key length, key, value length (≤ 5-byte varint), value
		size += 1 + 1 + logKeyLen + 5 + crcLen + len(entries[i].Data)
	}
	return size, n, nil
}

// appendLocked assigns the indexes, fills b and applies it, all under mu.
func (l *Log) appendLocked(b *pebble.Batch, entries []Entry, indexes []uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.mu.err; err != nil {
		_ = b.Close()
		return err
	}
	for i, e := range entries {
		if l.mu.last[e.Partition] == math.MaxUint64 {
			l.rollbackLocked(entries[:i], indexes)
			_ = b.Close()
			return fmt.Errorf("swarmmq/wal: partition %d has no index left", e.Partition)
		}
		idx := l.mu.last[e.Partition] + 1
		l.mu.last[e.Partition] = idx
		indexes[i] = idx
		op := b.SetDeferred(logKeyLen, crcLen+len(e.Data))
		putLogKey(op.Key, e.Partition, idx)
		putEntryValue(op.Value, e.Data)
		_ = op.Finish() // only fails for indexed batches
	}
	if err := l.applyLocked(b, l.policy == SyncAlways); err != nil {
		l.rollbackLocked(entries, indexes)
		return err
	}
	if l.policy == SyncInterval {
		l.dirty.Store(true)
	}
	return nil
}

// rollbackLocked gives back the indexes assigned to entries.
func (l *Log) rollbackLocked(entries []Entry, indexes []uint64) {
	for i := len(entries) - 1; i >= 0; i-- {
		l.mu.last[entries[i].Partition] = indexes[i] - 1
	}
}

// applyLocked applies b, without waiting for its fsync if sync is set (the
// caller then calls syncWait), without any fsync otherwise. The caller holds
// mu. On error b must be neither waited for nor closed.
//
// Pebble reports a failed write of its WAL by panicking, sometimes while
// holding its commit mutex, or through Logger.Fatalf, which panics here (see
// pebbleLogger). Such a panic is recovered into an error that fails the Log
// and marks it wedged, so that no later call enters Pebble's write path and
// Close does not wait for locks that may never be released.
func (l *Log) applyLocked(b *pebble.Batch, sync bool) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		perr, ok := r.(error)
		if !ok {
			panic(r) // not an I/O failure but a bug
		}
		l.m.errors.Inc()
		err = l.failLocked(fmt.Errorf("pebble panicked applying a batch: %w", perr), true)
	}()
	if sync {
		err = l.db.ApplyNoSyncWait(b, pebble.Sync)
	} else {
		err = l.db.Apply(b, pebble.NoSync)
	}
	if err != nil {
		// Pebble returns errors only before the batch reaches its WAL.
		l.m.errors.Inc()
		return fmt.Errorf("swarmmq/wal: cannot apply batch: %w", err)
	}
	return nil
}

// syncWait waits for the fsync covering b, applied with sync set.
func (l *Log) syncWait(b *pebble.Batch) error {
	if err := b.SyncWait(); err != nil {
		// Pebble does not reuse a batch that failed: leave b to the GC.
		l.m.errors.Inc()
		return l.fail(fmt.Errorf("WAL sync failed: %w", err), false)
	}
	_ = b.Close()
	return nil
}

// commitSync applies b and waits for the fsync covering it.
func (l *Log) commitSync(b *pebble.Batch) error {
	if err := l.applySync(b); err != nil {
		return err
	}
	return l.syncWait(b)
}

func (l *Log) applySync(b *pebble.Batch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.mu.err; err != nil {
		_ = b.Close()
		return err
	}
	return l.applyLocked(b, true)
}

// fail records the sticky failure of the Log (the first one wins) and returns
// cause marked with ErrFailed.
func (l *Log) fail(cause error, wedged bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failLocked(cause, wedged)
}

func (l *Log) failLocked(cause error, wedged bool) error {
	err := fmt.Errorf("%w: %w", ErrFailed, cause)
	l.mu.wedged = l.mu.wedged || wedged
	if l.mu.err == nil {
		l.mu.err = err
		l.failed.Store(true)
		l.report(err.Error())
		l.sp.poke() // the figure in /health and the metrics say whether the disk filled up
	}
	return err
}

// failure returns the sticky failure, or nil.
func (l *Log) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.err
}

// Err returns the log's sticky failure (wrapping ErrFailed) once a write or
// sync has failed, else nil. A failed log refuses every further call; the
// process must reopen it. Safe for concurrent use, also after Close.
func (l *Log) Err() error { return l.failure() }
