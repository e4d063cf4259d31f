package queue

import (
	"bytes"
	"fmt"
	"testing"
)

// testLog is the log of a test partition: each applied record's encoding by
// index, so cold deliveries can be read back the way the node does.
type testLog map[uint64][]byte

// add stores r as entry index.
func (l testLog) add(index uint64, r *Record) { l[index] = AppendRecord(nil, r) }

// resolve fills Msg of every cold delivery from the log and checks that
// every hot one equals the bytes in the log.
func (l testLog) resolve(t testing.TB, ds []Delivery) {
	t.Helper()
	for i := range ds {
		d := &ds[i]
		m, err := MessageAt(l[d.Loc.Index], d.Loc)
		if err != nil {
			t.Fatalf("seq %d: %v", d.Seq, err)
		}
		if d.Msg != nil && !bytes.Equal(d.Msg, m) {
			t.Fatalf("seq %d: the message in memory differs from the log's", d.Seq)
		}
		d.Msg = m
	}
}

// read is the log's RecordReader.
func (l testLog) read(index uint64) ([]byte, error) {
	b, ok := l[index]
	if !ok {
		return nil, fmt.Errorf("no log entry %d", index)
	}
	return b, nil
}

// trim drops the entries below from, as a stored snapshot does.
func (l testLog) trim(from uint64) {
	for i := range l {
		if i < from {
			delete(l, i)
		}
	}
}
