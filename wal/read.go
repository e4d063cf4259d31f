package wal

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Read appends the record of entry index of the partition to dst and
// returns it. An entry never appended or trimmed by a snapshot returns
// ErrNotFound; a checksum mismatch an error matching ErrCorrupt. Read sees
// every entry whose Append has returned, durable or not yet.
func (l *Log) Read(partition uint32, index uint64, dst []byte) ([]byte, error) {
	if err := l.checkPartition(partition); err != nil {
		return dst, err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return dst, err
	}
	var k [logKeyLen]byte
	putLogKey(k[:], partition, index)
	v, closer, err := l.db.Get(k[:])
	if errors.Is(err, pebble.ErrNotFound) {
		return dst, fmt.Errorf("%w: partition %d, index %d", ErrNotFound, partition, index)
	}
	if err != nil {
		return dst, readError(partition, err)
	}
	defer func() { _ = closer.Close() }()
	rec, err := entryRecord(v, partition, index)
	if err != nil {
		l.m.errors.Inc()
		return dst, err
	}
	return append(dst, rec...), nil
}
