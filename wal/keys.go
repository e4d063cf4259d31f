package wal

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// Key prefixes; the layout is drawn in doc.go.
const (
	prefixLog      = 'L'
	prefixSnapshot = 'S'
	prefixMeta     = 'M'
)

const (
	logKeyLen       = 1 + 4 + 8 // 'L' | partition | index
	partKeyLen      = 1 + 4     // 'L' or 'S' | partition
	crcLen          = 4
	snapHeaderLen   = crcLen + 8 // crc | index
	partitionsValue = 4
)

// metaPartitionsKey holds the partition count, written when the log is created.
const metaPartitionsKey = string(prefixMeta) + "partitions"

// castagnoli is the CRC-32C table (a read-only lookup table).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// putLogKey writes 'L' | p | index into dst, which has room for logKeyLen bytes.
func putLogKey(dst []byte, p uint32, index uint64) {
	_ = dst[logKeyLen-1]
	dst[0] = prefixLog
	binary.BigEndian.PutUint32(dst[1:5], p)
	binary.BigEndian.PutUint64(dst[5:13], index)
}

// logKey returns 'L' | p | index.
func logKey(p uint32, index uint64) []byte {
	k := make([]byte, logKeyLen)
	putLogKey(k, p, index)
	return k
}

// partKey returns prefix | p: the first key of the partition's keys under that
// prefix, or the snapshot key when prefix is 'S'.
func partKey(prefix byte, p uint32) []byte {
	k := make([]byte, partKeyLen)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], p)
	return k
}

// logEnd returns the exclusive upper bound of the entries of partition p with
// an index ≤ index. Partitions are below MaxPartitions, so p+1 cannot wrap.
func logEnd(p uint32, index uint64) []byte {
	if index == math.MaxUint64 {
		return partKey(prefixLog, p+1)
	}
	return logKey(p, index+1)
}

// parseLogKey returns the index of an entry key of partition p.
func parseLogKey(k []byte, p uint32) (uint64, error) {
	if len(k) != logKeyLen || k[0] != prefixLog || binary.BigEndian.Uint32(k[1:5]) != p {
		return 0, corruptf("bad entry key %x in partition %d", k, p)
	}
	return binary.BigEndian.Uint64(k[5:]), nil
}

// putEntryValue writes crc32c(record) | record into dst, which has room for
// crcLen+len(record) bytes.
func putEntryValue(dst, record []byte) {
	binary.BigEndian.PutUint32(dst, crc32.Checksum(record, castagnoli))
	copy(dst[crcLen:], record)
}

// entryRecord checks an entry value and returns a view of its record.
func entryRecord(v []byte, p uint32, index uint64) ([]byte, error) {
	if len(v) < crcLen {
		return nil, corruptf("entry %d of partition %d is %d bytes, shorter than its checksum", index, p, len(v))
	}
	rec := v[crcLen:]
	if want, got := binary.BigEndian.Uint32(v), crc32.Checksum(rec, castagnoli); want != got {
		return nil, corruptf("entry %d of partition %d: checksum %08x, want %08x", index, p, got, want)
	}
	return rec, nil
}

// putSnapshotValue writes crc32c(index | data) | index | data into v,
// which has exactly that length (snapHeaderLen+len(data)).
func putSnapshotValue(v []byte, index uint64, data []byte) {
	binary.BigEndian.PutUint64(v[crcLen:], index)
	copy(v[snapHeaderLen:], data)
	binary.BigEndian.PutUint32(v, crc32.Checksum(v[crcLen:], castagnoli))
}

// parseSnapshot checks a snapshot value and returns its index and a view of
// its data.
func parseSnapshot(v []byte, p uint32) (uint64, []byte, error) {
	if len(v) < snapHeaderLen {
		return 0, nil, corruptf("snapshot of partition %d is %d bytes, shorter than its header", p, len(v))
	}
	if want, got := binary.BigEndian.Uint32(v), crc32.Checksum(v[crcLen:], castagnoli); want != got {
		return 0, nil, corruptf("snapshot of partition %d: checksum %08x, want %08x", p, got, want)
	}
	return binary.BigEndian.Uint64(v[crcLen:]), v[snapHeaderLen:], nil
}
