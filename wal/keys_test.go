package wal

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeyLayout(t *testing.T) {
	require.Equal(t, []byte{'L', 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0x10, 0x20}, logKey(0x102, 0x1020))
	require.Equal(t, []byte{'S', 0, 0, 0, 7}, partKey(prefixSnapshot, 7))
	require.Equal(t, "Mpartitions", metaPartitionsKey)

	idx, err := parseLogKey(logKey(5, 99), 5)
	require.NoError(t, err)
	require.Equal(t, uint64(99), idx)
	_, err = parseLogKey(logKey(5, 99), 6)
	require.True(t, IsCorrupt(err))
	_, err = parseLogKey([]byte("L1"), 5)
	require.True(t, IsCorrupt(err))

	// Keys of a partition sort by index, and before the next partition.
	require.Negative(t, bytes.Compare(logKey(1, 255), logKey(1, 256)))
	require.Negative(t, bytes.Compare(logKey(1, math.MaxUint64), partKey(prefixLog, 2)))
	require.Equal(t, partKey(prefixLog, 2), logEnd(1, math.MaxUint64))
	require.Equal(t, logKey(1, 8), logEnd(1, 7))
}

func TestEntryValue(t *testing.T) {
	rec := []byte("hello")
	v := make([]byte, crcLen+len(rec))
	putEntryValue(v, rec)
	// CRC-32C of "hello" is 0x9a71bb4c.
	require.Equal(t, []byte{0x9a, 0x71, 0xbb, 0x4c}, v[:4])
	got, err := entryRecord(v, 0, 1)
	require.NoError(t, err)
	require.Equal(t, rec, got)

	v[5] ^= 1
	_, err = entryRecord(v, 0, 1)
	require.True(t, IsCorrupt(err))
	_, err = entryRecord(v[:3], 0, 1)
	require.True(t, IsCorrupt(err))
}

func TestSnapshotValue(t *testing.T) {
	v := snapshotValue(42, []byte("state"))
	idx, data, err := parseSnapshot(v, 3)
	require.NoError(t, err)
	require.Equal(t, uint64(42), idx)
	require.Equal(t, "state", string(data))

	v[len(v)-1] ^= 0xff
	_, _, err = parseSnapshot(v, 3)
	require.True(t, IsCorrupt(err))
	_, _, err = parseSnapshot(v[:11], 3)
	require.True(t, IsCorrupt(err))
}

// snapshotValue returns the stored form of a snapshot, as SaveSnapshot
// writes it.
func snapshotValue(index uint64, data []byte) []byte {
	v := make([]byte, snapHeaderLen+len(data))
	putSnapshotValue(v, index, data)
	return v
}
