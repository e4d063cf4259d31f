package wal

import (
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// Replay calls fn for each entry of the partition with an index above after,
// in index order, and returns the first error of fn unchanged. data is a view
// into Pebble's memory, valid only during the call. Entries trimmed by a
// snapshot are skipped: replay then starts after the snapshot's index.
//
// A checksum mismatch, a malformed key or a gap in the indexes stops Replay
// with an error matching ErrCorrupt, as does corruption Pebble detects in its
// own files. Replay sees the entries committed when it starts. fn must not
// call Close or SaveSnapshot, which would wait for Replay to end.
func (l *Log) Replay(partition uint32, after uint64, fn func(index uint64, data []byte) error) error {
	if err := l.checkPartition(partition); err != nil {
		return err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return err
	}
	it, from, err := l.replayIter(partition, after)
	if err != nil || it == nil {
		return err
	}
	defer func() { _ = it.Close() }()
	err = l.replay(it, partition, from+1, fn)
	if IsCorrupt(err) {
		l.m.errors.Inc()
	}
	return err
}

// replayIter opens an iterator over the entries of the partition above both
// after and the snapshot's index, and returns the larger of the two. Both are
// read under mu, so no trim falls between them. It returns a nil iterator if
// no index can follow.
func (l *Log) replayIter(p uint32, after uint64) (*pebble.Iterator, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(after, l.mu.snap[p])
	if from == math.MaxUint64 {
		return nil, from, nil
	}
	it, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: logKey(p, from+1),
		UpperBound: partKey(prefixLog, p+1),
	})
	if err != nil {
		return nil, from, fmt.Errorf("swarmmq/wal: cannot read partition %d: %w", p, err)
	}
	return it, from, nil
}

func (l *Log) replay(it *pebble.Iterator, p uint32, next uint64, fn func(uint64, []byte) error) error {
	for valid := it.First(); valid; valid = it.Next() {
		idx, err := parseLogKey(it.Key(), p)
		if err != nil {
			return err
		}
		if idx != next {
			return corruptf("partition %d: found index %d where %d was expected", p, idx, next)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return readError(p, err)
		}
		rec, err := entryRecord(v, p, idx)
		if err != nil {
			return err
		}
		if err := fn(idx, rec); err != nil {
			return err
		}
		next++
	}
	if err := it.Error(); err != nil {
		return readError(p, err)
	}
	return nil
}

// readError wraps an error of Pebble reading partition p, marking Pebble's
// corruption errors with ErrCorrupt.
func readError(p uint32, err error) error {
	if pebble.IsCorruptionError(err) {
		return fmt.Errorf("%w: partition %d: %w", ErrCorrupt, p, err)
	}
	return fmt.Errorf("swarmmq/wal: cannot read partition %d: %w", p, err)
}
