package rlog

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAssemblerInOrderOnly(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 5)
	chunks := func(id uint64) []chunk {
		var cs []chunk
		for i := 0; i < 5; i++ {
			cs = append(cs, chunk{id: id, seq: uint32(i), total: 5, data: payload[i*10 : i*10+10]})
		}
		return cs
	}
	a := assembler{peers: map[string]*assembly{}, max: 1 << 10}
	f := func(from string, c chunk, want []byte, wantErr bool) {
		t.Helper()
		// Through the wire format, as HandleFrame gets it.
		dc, err := decodeChunk(appendChunk(nil, c))
		require.NoError(t, err)
		got, err := a.add(from, dc)
		require.Equal(t, wantErr, err != nil, "%v", err)
		require.Equal(t, want, got)
	}
	cs := chunks(7)
	for _, c := range cs[:4] {
		f("a", c, nil, false)
	}
	f("b", chunks(9)[0], nil, false) // another peer's stream is its own
	f("a", cs[4], payload, false)

	// A gap drops what was held; the sender starts again from 0.
	f("a", cs[0], nil, false)
	f("a", cs[2], nil, true)
	f("a", cs[3], nil, true)
	for _, c := range cs[:4] {
		f("a", c, nil, false)
	}
	f("a", chunks(8)[4], nil, true) // another id's last chunk
	// The limit per peer.
	small := assembler{peers: map[string]*assembly{}, max: 25}
	for i, c := range cs[:3] {
		_, err := small.add("a", c)
		require.Equal(t, i == 2, err != nil)
	}

	for _, bad := range [][]byte{nil, appendChunk(nil, chunk{id: 1, seq: 2, total: 2}), appendChunk(nil, chunk{id: 1})[:10]} {
		_, err := decodeChunk(bad)
		require.ErrorIs(t, err, ErrBadMessage)
	}
}
