package wal

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// metaValuePrefix starts the keys of the values Meta and SetMeta keep
// (layout in doc.go).
const metaValuePrefix = string(prefixMeta) + "value/"

// Meta returns a copy of the value SetMeta stored under name; ok is false
// if there is none. The node keeps small facts about its data directory
// this way (which sealing mode wrote it, say).
func (l *Log) Meta(name string) (v []byte, ok bool, err error) {
	got, closer, err := l.db.Get([]byte(metaValuePrefix + name))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("swarmmq/wal: cannot read meta value %q: %w", name, err)
	}
	defer func() { _ = closer.Close() }()
	return append([]byte(nil), got...), true, nil
}

// SetMeta stores value under name, or deletes it when value is nil, in a
// synced write of its own.
func (l *Log) SetMeta(name string, value []byte) error {
	key := []byte(metaValuePrefix + name)
	b := l.db.NewBatch()
	if value == nil {
		_ = b.Delete(key, nil)
	} else {
		_ = b.Set(key, value, nil)
	}
	if err := l.commitSync(b); err != nil {
		return fmt.Errorf("swarmmq/wal: cannot store meta value %q: %w", name, err)
	}
	return nil
}
