package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// The keys a replicated partition adds to the layout of doc.go. Its entries
// stay 'L' keys with the same value (crc | record), so Read, Replay and
// LoadSnapshot work unchanged on a raft log; only the raft term of each
// entry and the raft state live beside them:
//
//	term run  'T' | partition u32 | index u64  →  term u64
//	          (the entries from index on have this term, up to the next run)
//	state     'R' | partition u32              →  crc32c u32 | version u8 |
//	          first u64 | term u64 | vote u64 | commit u64 | conf bytes
//	marker    'M' | "raft"                     →  "1"
//
// A term changes only when a leader is elected, so a partition holds a
// handful of runs, not a term per entry (8 bytes on every record).
const (
	prefixTerm      = 'T'
	prefixRaftState = 'R'
	raftStateV1     = 1
	raftStateFixed  = crcLen + 1 + 4*8
)

// metaRaftKey marks a log written by the raft engine.
const metaRaftKey = string(prefixMeta) + "raft"

// RaftState is the persisted raft state of a partition.
type RaftState struct {
	// First is the first index raft may read from the log; entries below it
	// are records the partition's snapshot still points at, or gone.
	First uint64
	// Term, Vote and Commit are raft's HardState.
	Term, Vote, Commit uint64
	// Conf is raft's ConfState, encoded by the caller.
	Conf []byte
}

// TermRun says that the entries from Index on have Term, up to the next run.
type TermRun struct{ Index, Term uint64 }

func termKey(p uint32, index uint64) []byte {
	k := make([]byte, logKeyLen)
	putLogKey(k, p, index)
	k[0] = prefixTerm
	return k
}

// termEnd is the exclusive upper bound of the term runs of p.
func termEnd(p uint32) []byte { return partKey(prefixTerm, p+1) }

func appendRaftState(dst []byte, s RaftState) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, raftStateV1)
	for _, v := range [...]uint64{s.First, s.Term, s.Vote, s.Commit} {
		dst = binary.BigEndian.AppendUint64(dst, v)
	}
	dst = append(dst, s.Conf...)
	binary.BigEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+crcLen:], castagnoli))
	return dst
}

// DecodeRaftState parses the value of a partition's raft state; it returns
// an error matching ErrCorrupt for bytes that fail its checks. Conf is a
// copy.
func DecodeRaftState(v []byte) (RaftState, error) {
	if len(v) < raftStateFixed {
		return RaftState{}, corruptf("raft state is %d bytes, want at least %d", len(v), raftStateFixed)
	}
	if want, got := binary.BigEndian.Uint32(v), crc32.Checksum(v[crcLen:], castagnoli); want != got {
		return RaftState{}, corruptf("raft state: checksum %08x, want %08x", got, want)
	}
	if v[crcLen] != raftStateV1 {
		return RaftState{}, corruptf("raft state version %d, this build reads %d", v[crcLen], raftStateV1)
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(v[crcLen+1+8*i:]) }
	return RaftState{First: u(0), Term: u(1), Vote: u(2), Commit: u(3),
		Conf: append([]byte(nil), v[raftStateFixed:]...)}, nil
}

// IsRaft reports whether the raft engine ever wrote to this log. A log of a
// single node (no raft state) must not be opened by the raft engine, and a
// raft log must not be replayed as a single node's: its entries include
// raft's empty entries and uncommitted ones.
func (l *Log) IsRaft() (bool, error) {
	return l.has([]byte(metaRaftKey))
}

func (l *Log) has(key []byte) (bool, error) {
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return false, err
	}
	_, closer, err := l.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("swarmmq/wal: cannot read %q: %w", key, err)
	}
	_ = closer.Close()
	return true, nil
}

// LoadRaftState returns the raft state of the partition, ok false if the
// raft engine never wrote one.
func (l *Log) LoadRaftState(partition uint32) (s RaftState, ok bool, err error) {
	if err := l.checkPartition(partition); err != nil {
		return s, false, err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return s, false, err
	}
	v, closer, err := l.db.Get(partKey(prefixRaftState, partition))
	if errors.Is(err, pebble.ErrNotFound) {
		return s, false, nil
	}
	if err != nil {
		return s, false, readError(partition, err)
	}
	defer func() { _ = closer.Close() }()
	s, err = DecodeRaftState(v)
	if err != nil {
		return s, false, fmt.Errorf("partition %d: %w", partition, err)
	}
	return s, true, nil
}

// LoadTermRuns returns the term runs of the partition in index order.
func (l *Log) LoadTermRuns(partition uint32) ([]TermRun, error) {
	if err := l.checkPartition(partition); err != nil {
		return nil, err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return nil, err
	}
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: partKey(prefixTerm, partition), UpperBound: termEnd(partition)})
	if err != nil {
		return nil, readError(partition, err)
	}
	defer func() { _ = it.Close() }()
	var runs []TermRun
	for valid := it.First(); valid; valid = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != logKeyLen || len(v) != 8 {
			return nil, corruptf("partition %d: bad term run %x → %x", partition, k, v)
		}
		runs = append(runs, TermRun{Index: binary.BigEndian.Uint64(k[5:]), Term: binary.BigEndian.Uint64(v)})
	}
	if err := it.Error(); err != nil {
		return nil, readError(partition, err)
	}
	return runs, nil
}

// ReadRange calls fn with each entry of the partition in [lo, hi) in index
// order until fn returns false; data is a view valid during the call. A
// missing entry in the range (trimmed, or not written) returns ErrNotFound.
func (l *Log) ReadRange(partition uint32, lo, hi uint64, fn func(index uint64, data []byte) bool) error {
	if err := l.checkPartition(partition); err != nil {
		return err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return err
	}
	if lo >= hi {
		return nil
	}
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: logKey(partition, lo), UpperBound: logEnd(partition, hi-1)})
	if err != nil {
		return readError(partition, err)
	}
	defer func() { _ = it.Close() }()
	next := lo
	for valid := it.First(); valid; valid = it.Next() {
		idx, err := parseLogKey(it.Key(), partition)
		if err != nil {
			return err
		}
		if idx != next {
			return fmt.Errorf("%w: partition %d, index %d", ErrNotFound, partition, next)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return readError(partition, err)
		}
		rec, err := entryRecord(v, partition, idx)
		if err != nil {
			return err
		}
		next++
		if !fn(idx, rec) {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return readError(partition, err)
	}
	if next != hi {
		return fmt.Errorf("%w: partition %d, index %d", ErrNotFound, partition, next)
	}
	return nil
}

// RaftBatch collects the writes of one iteration of the raft loop, for any
// number of partitions, into one Pebble batch that Commit applies with one
// fsync. It is owned by one goroutine. The Log's LastIndex follows the
// appends, truncations and restores it commits.
type RaftBatch struct {
	l     *Log
	b     *pebble.Batch
	last  map[uint32]uint64 // partitions whose last index the batch sets
	snap  map[uint32]uint64 // partitions whose snapshot index the batch sets
	n     int               // entries
	bytes int               // record bytes
	state bool              // the batch writes a raft state
}

// NewRaftBatch returns an empty batch.
func (l *Log) NewRaftBatch() *RaftBatch {
	return &RaftBatch{l: l, b: l.db.NewBatch(), last: map[uint32]uint64{}, snap: map[uint32]uint64{}}
}

// Empty reports whether the batch holds no write.
func (rb *RaftBatch) Empty() bool { return rb.b.Empty() }

// Append writes data as entry index of the partition. If index is not
// after the partition's last index (the Log's, or the batch's own), the
// entries and term runs from index on are deleted first: raft replaces a
// conflicting suffix this way. Appends of a partition must be in index
// order without gaps; the caller checks (the Log cannot).
func (rb *RaftBatch) Append(partition uint32, index uint64, data []byte) {
	last, ok := rb.last[partition]
	if !ok {
		last = rb.l.LastIndex(partition)
	}
	if index <= last {
		_ = rb.b.DeleteRange(logKey(partition, index), partKey(prefixLog, partition+1), nil)
		_ = rb.b.DeleteRange(termKey(partition, index), termEnd(partition), nil)
	}
	op := rb.b.SetDeferred(logKeyLen, crcLen+len(data))
	putLogKey(op.Key, partition, index)
	putEntryValue(op.Value, data)
	_ = op.Finish()
	rb.last[partition] = index
	rb.n++
	rb.bytes += len(data)
}

// SetTerm starts a term run at index.
func (rb *RaftBatch) SetTerm(partition uint32, index, term uint64) {
	_ = rb.b.Set(termKey(partition, index), binary.BigEndian.AppendUint64(nil, term), nil)
}

// SetState writes the partition's raft state.
func (rb *RaftBatch) SetState(partition uint32, s RaftState) {
	_ = rb.b.Set(partKey(prefixRaftState, partition), appendRaftState(nil, s), nil)
	rb.state = true
}

// Compact stores snapshot as the partition's snapshot at index (the format
// of SaveSnapshot, so LoadSnapshot reads it) and deletes the entries below
// keepFrom and the term runs below runFrom, the start of the run that holds
// keepFrom-1 (raft asks for the term of the entry before its first).
func (rb *RaftBatch) Compact(partition uint32, index, keepFrom, runFrom uint64, snapshot []byte) {
	rb.putSnapshot(partition, index, snapshot)
	if keepFrom > 1 {
		_ = rb.b.DeleteRange(partKey(prefixLog, partition), logKey(partition, keepFrom), nil)
	}
	if runFrom > 0 {
		_ = rb.b.DeleteRange(partKey(prefixTerm, partition), termKey(partition, runFrom), nil)
	}
}

// Restore replaces the partition's log by a snapshot received from a peer:
// every entry and term run goes, snapshot is stored at index with term (one
// run at index), and records become the entries first … index, the ones
// the snapshot's state points at. The partition's last index becomes index.
func (rb *RaftBatch) Restore(partition uint32, index, term uint64, snapshot []byte, first uint64, records [][]byte) {
	_ = rb.b.DeleteRange(partKey(prefixLog, partition), partKey(prefixLog, partition+1), nil)
	_ = rb.b.DeleteRange(partKey(prefixTerm, partition), termEnd(partition), nil)
	rb.putSnapshot(partition, index, snapshot)
	for i, r := range records {
		op := rb.b.SetDeferred(logKeyLen, crcLen+len(r))
		putLogKey(op.Key, partition, first+uint64(i))
		putEntryValue(op.Value, r)
		_ = op.Finish()
	}
	rb.SetTerm(partition, index, term)
	rb.last[partition] = index
}

func (rb *RaftBatch) putSnapshot(partition uint32, index uint64, snapshot []byte) {
	key := partKey(prefixSnapshot, partition)
	op := rb.b.SetDeferred(len(key), snapHeaderLen+len(snapshot))
	copy(op.Key, key)
	putSnapshotValue(op.Value, index, snapshot)
	_ = op.Finish()
	rb.snap[partition] = index
}

// Commit applies the batch and, if sync is set, waits for the fsync that
// covers it (under either SyncPolicy: raft must not send what it has not
// persisted). An error fails the Log as Append's does. The batch must not
// be used after.
func (rb *RaftBatch) Commit(sync bool) error {
	l := rb.l
	if rb.b.Empty() {
		_ = rb.b.Close()
		return nil
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if l.closed {
		_ = rb.b.Close()
		return ErrClosed
	}
	if l.ro.Load() {
		_ = rb.b.Close()
		return l.roErr()
	}
	if rb.state {
		_ = rb.b.Set([]byte(metaRaftKey), []byte("1"), nil)
	}
	size := len(rb.b.Repr())
	if err := rb.applyLocked(sync); err != nil {
		return err
	}
	l.m.batches.Inc()
	l.m.entries.Add(rb.n)
	l.m.bytes.Add(rb.bytes)
	l.sp.wrote(size)
	if !sync {
		_ = rb.b.Close()
		return nil
	}
	return l.syncWait(rb.b)
}

func (rb *RaftBatch) applyLocked(sync bool) error {
	l := rb.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.mu.err; err != nil {
		_ = rb.b.Close()
		return err
	}
	if err := l.applyLocked(rb.b, sync); err != nil {
		return err
	}
	for p, idx := range rb.snap {
		l.mu.snap[p] = idx
	}
	for p, idx := range rb.last {
		if idx == math.MaxUint64 {
			continue
		}
		l.mu.last[p] = idx
	}
	return nil
}

// FirstIndex returns the lowest index of the partition's entries, ok false
// if it has none.
func (l *Log) FirstIndex(partition uint32) (index uint64, ok bool, err error) {
	if err := l.checkPartition(partition); err != nil {
		return 0, false, err
	}
	l.life.RLock()
	defer l.life.RUnlock()
	if err := l.usable(); err != nil {
		return 0, false, err
	}
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: partKey(prefixLog, partition), UpperBound: partKey(prefixLog, partition+1)})
	if err != nil {
		return 0, false, readError(partition, err)
	}
	defer func() { _ = it.Close() }()
	if !it.First() {
		return 0, false, it.Error()
	}
	index, err = parseLogKey(it.Key(), partition)
	return index, err == nil, err
}
