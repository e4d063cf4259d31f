package peer

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
)

// TestQueueChunks pushes frames of mixed sizes (one larger than a chunk)
// and checks that the chunks taken hold exactly those frames in order,
// that no chunk was ever grown, and that recycling keeps at most
// keepChunks chunks.
func TestQueueChunks(t *testing.T) {
	var q queue
	var want []byte
	sizes := []int{0, 100, chunkSize - frame.HeaderSize, 10, chunkSize + 1, 5000, 70000, 70000, 70000, 70000}
	for round := range 3 {
		want = want[:0]
		for i, n := range sizes {
			payload := bytes.Repeat([]byte{byte(i)}, n)
			o := out{t: frame.TypeRaft, corr: uint64(i), payload: payload}
			q.push(&o)
			want = frame.AppendPeerFrame(want, frame.TypeRaft, uint64(i), payload)
		}
		q.push(&out{t: frame.TypeError, corr: 9, code: frame.CodeStorage, msg: "m"})
		want = frame.AppendError(want, 9, frame.CodeStorage, "m")
		require.Equal(t, len(want), q.bytes, "round %d", round)
		chunks, frames := q.take(nil)
		require.Equal(t, len(sizes)+1, frames)
		require.Zero(t, q.bytes)
		var got []byte
		for _, c := range chunks {
			require.True(t, cap(c) == chunkSize || len(c) == cap(c) || len(c) > chunkSize,
				fmt.Sprintf("chunk of len %d cap %d", len(c), cap(c)))
			got = append(got, c...)
		}
		require.Equal(t, want, got)
		q.recycle(chunks)
		require.LessOrEqual(t, len(q.free), keepChunks)
	}
	q.push(&out{t: frame.TypeRaft, payload: []byte("x")})
	require.Equal(t, 1, q.drop())
	require.Zero(t, q.bytes)
	require.Empty(t, q.chunks)
}
