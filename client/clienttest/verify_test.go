package clienttest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

func TestVerifySealed(t *testing.T) {
	kr, err := seal.NewKeyring(2, seal.Key{ID: 1, Secret: [32]byte{1}}, seal.Key{ID: 2, Secret: [32]byte{2}})
	require.NoError(t, err)
	s, err := seal.NewSealer(kr, nil)
	require.NoError(t, err)
	m := frame.Message{ID: [16]byte{7}, Timestamp: 5, Producer: 9, KeyID: 2}
	h := seal.Header{ID: m.ID, Destination: []byte("q"), Producer: m.Producer, Timestamp: m.Timestamp, KeyID: 2}
	m.Payload, err = s.Seal(nil, h, []byte("hello"))
	require.NoError(t, err)

	verify := VerifySealed(kr)
	require.Equal(t, frame.CodeOK, verify("q", m))
	require.Equal(t, frame.CodeAuthFailed, verify("other", m))
	bad := m
	bad.Producer++
	require.Equal(t, frame.CodeAuthFailed, verify("q", bad))
	bad = m
	bad.KeyID = 1
	require.Equal(t, frame.CodeAuthFailed, verify("q", bad))
	bad.KeyID = 3
	require.Equal(t, frame.CodeUnknownKey, verify("q", bad))
	bad.KeyID = 0
	require.Equal(t, frame.CodeAuthFailed, verify("q", bad), "unsealed")
}

func TestUpdateAndDeadLetter(t *testing.T) {
	s := start(t, Options{})
	r := dialRaw(t, s)
	r.hello()
	msgs := []frame.Message{{ID: [16]byte{1}, Payload: []byte("one")}, {ID: [16]byte{2}, Payload: []byte("two")}}
	r.send(frame.AppendPublish(nil, 2, []byte("q"), msgs))
	require.Equal(t, frame.TypePublishAck, r.recv().Type)

	require.True(t, s.Update("q", 2, func(m *frame.Message) { m.Payload[0] = 'T'; m.Producer = 5 }))
	require.False(t, s.Update("q", 3, func(*frame.Message) {}))
	require.False(t, s.Update("nope", 1, func(*frame.Message) {}))
	got := s.Messages("q")
	require.Equal(t, "Two", string(got[1].Payload))
	require.Equal(t, uint64(5), got[1].Producer)
	require.True(t, got[1].Verify(), "the CRC is fixed up")

	seq, ok := s.DeadLetter("q", 1)
	require.True(t, ok)
	require.Equal(t, uint64(1), seq)
	_, ok = s.DeadLetter("q", 9)
	require.False(t, ok)
	dlq := s.Messages("q.dlq")
	require.Len(t, dlq, 1)
	require.Equal(t, got[0], dlq[0], "bytes unchanged")

	r.send(frame.AppendFetch(nil, 3, frame.Fetch{Destination: []byte("q.dlq"), Group: []byte("g")}))
	ms, err := frame.DecodeMessages(r.recv().Body)
	require.NoError(t, err)
	d, ok := ms.Next()
	require.True(t, ok)
	require.Equal(t, "one", string(d.Message.Payload))
}
