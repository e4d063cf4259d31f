package wal

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// SaveSnapshot stores data as the partition's snapshot at index and trims the
// log: in one batch, synced before SaveSnapshot returns, it writes the
// snapshot and range-deletes every entry with an index below keepFrom and
// not above index. Entries from keepFrom on stay readable with Read (the
// state at index still points at them); Replay starts after index either
// way. A snapshot ahead of LastIndex moves LastIndex to index, so the next
// append continues after it. An index below the current snapshot's is
// refused.
func (l *Log) SaveSnapshot(partition uint32, index, keepFrom uint64, data []byte) error {
	if err := l.checkPartition(partition); err != nil {
		return err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if l.ro.Load() {
		return l.roErr()
	}
	b := l.db.NewBatch()
	// Encoded in place: a snapshot may be megabytes (the dedupe window).
	key := partKey(prefixSnapshot, partition)
	op := b.SetDeferred(len(key), snapHeaderLen+len(data))
	copy(op.Key, key)
	putSnapshotValue(op.Value, index, data)
	_ = op.Finish()
	if end := min(index, keepFrom-1); keepFrom > 0 && end > 0 {
		_ = b.DeleteRange(partKey(prefixLog, partition), logEnd(partition, end), nil)
	}
	if err := l.saveLocked(b, partition, index); err != nil {
		return err
	}
	return l.syncWait(b)
}

func (l *Log) saveLocked(b *pebble.Batch, p uint32, index uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.mu.err; err != nil {
		_ = b.Close()
		return err
	}
	if index < l.mu.snap[p] {
		_ = b.Close()
		return fmt.Errorf("swarmmq/wal: snapshot index %d of partition %d is below the current snapshot's %d", index, p, l.mu.snap[p])
	}
	if err := l.applyLocked(b, true); err != nil {
		return err
	}
	l.mu.snap[p] = index
	l.mu.last[p] = max(l.mu.last[p], index)
	return nil
}

// LoadSnapshot returns the partition's snapshot: its index and a copy of its
// data, with ok false if there is none. A checksum mismatch returns an error
// matching ErrCorrupt.
func (l *Log) LoadSnapshot(partition uint32) (index uint64, data []byte, ok bool, err error) {
	if err := l.checkPartition(partition); err != nil {
		return 0, nil, false, err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return 0, nil, false, err
	}
	index, data, ok, err = l.loadSnapshot(partition, true)
	if IsCorrupt(err) {
		l.m.errors.Inc()
	}
	return index, data, ok, err
}

// loadSnapshot reads and checks the snapshot of partition p, returning a copy
// of its data if keep is set.
func (l *Log) loadSnapshot(p uint32, keep bool) (index uint64, data []byte, ok bool, err error) {
	v, closer, err := l.db.Get(partKey(prefixSnapshot, p))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, readError(p, err)
	}
	defer func() { _ = closer.Close() }()
	index, view, err := parseSnapshot(v, p)
	if err != nil {
		return 0, nil, false, err
	}
	if keep {
		data = append([]byte(nil), view...)
	}
	return index, data, true, nil
}
