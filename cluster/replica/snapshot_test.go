package replica

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSnapshotPayloadRoundTrip(t *testing.T) {
	in := snapshotPayload{state: []byte("state"), first: 7, records: [][]byte{[]byte("a"), {}, []byte("ccc")}}
	b := appendSnapshot(nil, in)
	out, err := decodeSnapshot(b, 9)
	require.NoError(t, err)
	require.Equal(t, in.state, out.state)
	require.Equal(t, in.first, out.first)
	require.Equal(t, in.records, out.records)

	_, err = decodeSnapshot(b, 10) // records must end at the index
	require.ErrorIs(t, err, ErrBadSnapshot)
	bad := append([]byte(nil), b...)
	bad[len(bad)-1] ^= 1
	_, err = decodeSnapshot(bad, 9)
	require.ErrorIs(t, err, ErrBadSnapshot)
	_, err = decodeSnapshot(b[:len(b)-1], 9)
	require.ErrorIs(t, err, ErrBadSnapshot)
}

// FuzzDecodeSnapshot: a payload from a peer never panics the decoder, and
// what decodes re-encodes to the same bytes.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(appendSnapshot(nil, snapshotPayload{state: []byte("s"), first: 2, records: [][]byte{[]byte("x"), []byte("y")}}), uint64(3))
	f.Add(appendSnapshot(nil, snapshotPayload{state: nil}), uint64(5))
	f.Add([]byte{snapshotV1}, uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, index uint64) {
		p, err := decodeSnapshot(b, index)
		if err != nil {
			require.ErrorIs(t, err, ErrBadSnapshot)
			return
		}
		require.Equal(t, b, appendSnapshot(nil, p))
	})
}
