package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// testKeyring returns a keyring with keys of the given ids, derived from
// the id; current is the last id.
func testKeyring(t *testing.T, ids ...uint32) *seal.Keyring {
	t.Helper()
	keys := make([]seal.Key, len(ids))
	for i, id := range ids {
		keys[i] = seal.Key{ID: id}
		for j := range keys[i].Secret {
			keys[i].Secret[j] = byte(int(id)*7 + j)
		}
	}
	kr, err := seal.NewKeyring(ids[len(ids)-1], keys...)
	require.NoError(t, err)
	return kr
}

// headerOf returns the seal header of a stored message of dest.
func headerOf(dest string, m frame.Message) seal.Header {
	return seal.Header{ID: m.ID, Destination: []byte(dest), Producer: m.Producer, Timestamp: m.Timestamp, KeyID: m.KeyID}
}

// TestSealedPublish: with a keyring, each published payload is sealed with
// the current key, the message carries its key id, and the fake node opens
// it with the same keyring and the message's own header.
func TestSealedPublish(t *testing.T) {
	kr := testKeyring(t, 1, 2)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(kr)})
	c := dial(t, s, func(o *Options) { o.Keyring = kr })
	require.Equal(t, uint32(2), c.KeyID())
	ctx := testCtx(t)

	res, err := c.Publish(ctx, "test-queue", []byte("sync one"), []byte("sync two"))
	require.NoError(t, err)
	p := mustPublisher(t, c, "test-queue", PublisherOptions{MaxBatch: 3})
	var col collector
	for i := range 7 {
		require.NoError(t, p.Publish(ctx, fmt.Appendf(nil, "async %d", i), col.done))
	}
	require.NoError(t, p.Close(ctx))

	msgs := s.Messages("test-queue")
	require.Len(t, msgs, 9)
	for i, m := range msgs {
		require.Equal(t, uint32(2), m.KeyID)
		require.Equal(t, c.ProducerID(), m.Producer)
		require.NotContains(t, string(m.Payload), "sync")
		require.NotContains(t, string(m.Payload), "async")
		pt, err := kr.Open(nil, headerOf("test-queue", m), m.Payload)
		require.NoError(t, err, "message %d", i)
		require.Len(t, m.Payload, len(pt)+seal.Overhead)
		if i < 2 {
			require.Equal(t, res[i].ID, m.ID)
			require.Equal(t, []string{"sync one", "sync two"}[i], string(pt))
		} else {
			require.Equal(t, fmt.Sprintf("async %d", i-2), string(pt))
		}
		// The header bound is the one sent: another destination fails.
		_, err = kr.Open(nil, headerOf("other", m), m.Payload)
		require.ErrorIs(t, err, seal.ErrAuth)
	}
	require.Len(t, col.get(), 7)
	for _, r := range col.get() {
		require.NoError(t, r.Err)
	}
}

// TestSealedPublishRefused: a node that lacks the producer's key answers
// UNKNOWN_KEY per message; an unsealed message to a sealing node is
// refused too.
func TestSealedPublishRefused(t *testing.T) {
	nodeKeys := testKeyring(t, 1)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(nodeKeys)})
	c := dial(t, s, func(o *Options) { o.Keyring = testKeyring(t, 1, 2) })
	_, err := c.Publish(testCtx(t), "q", []byte("x"))
	require.Equal(t, frame.CodeUnknownKey, frame.CodeOf(err))

	plain := dial(t, s, nil)
	require.Zero(t, plain.KeyID())
	_, err = plain.Publish(testCtx(t), "q", []byte("x"))
	require.Equal(t, frame.CodeAuthFailed, frame.CodeOf(err))
	require.Empty(t, s.Messages("q"))
}

func TestSealedTooLarge(t *testing.T) {
	s := startServer(t, clienttest.Options{MaxFrame: 4096})
	c := dial(t, s, func(o *Options) { o.MaxFrame = 4096; o.Keyring = testKeyring(t, 1) })
	limit := 4096 - 32 - 44 - seal.Overhead
	p := mustPublisher(t, c, "q", PublisherOptions{})
	err := p.Publish(testCtx(t), make([]byte, limit+1), nil)
	require.EqualError(t, err, "swarmmq: publish to q: TOO_LARGE: message of 4065 bytes (payload, 28 bytes of sealing "+
		"and 44-byte header) does not fit in frames of at most 4096 bytes")
	require.NoError(t, p.Publish(testCtx(t), make([]byte, limit), nil))
	require.NoError(t, p.Close(testCtx(t)))
	res, err := c.Publish(testCtx(t), "q", make([]byte, limit), make([]byte, limit+1))
	require.ErrorContains(t, err, "1 of 2 messages failed")
	require.NoError(t, res[0].Err)
	require.Equal(t, frame.CodeTooLarge, frame.CodeOf(res[1].Err))

	for range 2 { // one per frame: the fake does not split MESSAGES
		ds, err := c.Fetch(testCtx(t), "q", "g", 1, 0)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.NoError(t, ds[0].Err)
		require.Len(t, ds[0].Payload, limit)
	}
}

// TestFetchSealed: deliveries are opened; tampered ones, and ones sealed
// for another header, carry Err and no payload, the rest of the batch is
// fine.
func TestFetchSealed(t *testing.T) {
	kr := testKeyring(t, 4)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(kr)})
	c := dial(t, s, func(o *Options) { o.Keyring = kr })
	ctx := testCtx(t)
	var payloads [][]byte
	for i := range 6 {
		payloads = append(payloads, fmt.Appendf(nil, "message %d", i))
	}
	res, err := c.Publish(ctx, "test-queue", payloads...)
	require.NoError(t, err)

	// A node (or disk) alters stored messages and fixes up the CRC.
	require.True(t, s.Update("test-queue", 2, func(m *frame.Message) { m.Payload[seal.NonceSize] ^= 1 }))
	require.True(t, s.Update("test-queue", 3, func(m *frame.Message) { m.Payload[len(m.Payload)-1] ^= 0x80 }))
	require.True(t, s.Update("test-queue", 4, func(m *frame.Message) { m.Timestamp++ }))
	require.True(t, s.Update("test-queue", 5, func(m *frame.Message) { m.ID = res[0].ID }))

	ds, err := c.Fetch(ctx, "test-queue", "g", 10, 0)
	require.NoError(t, err, "per delivery, never for the batch")
	require.Len(t, ds, 6)
	for i, d := range ds {
		require.Equal(t, uint32(4), d.KeyID)
		require.Equal(t, uint64(i+1), d.Seq)
		switch i {
		case 0, 5:
			require.NoError(t, d.Err)
			require.Equal(t, payloads[i], d.Payload)
			require.Equal(t, len(d.Payload), cap(d.Payload))
		default:
			require.ErrorIs(t, d.Err, seal.ErrAuth, "seq %d", d.Seq)
			require.Nil(t, d.Payload)
			require.EqualError(t, d.Err, fmt.Sprintf(
				"swarmmq: cannot open message seq %d of test-queue (key id 4): message authentication failed", d.Seq))
		}
	}
}

func TestFetchKeyProblems(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	ctx := testCtx(t)
	old := testKeyring(t, 1)
	rotated := testKeyring(t, 1, 2)
	_, err := dial(t, s, func(o *Options) { o.Keyring = rotated }).Publish(ctx, "q", []byte("new key"))
	require.NoError(t, err)
	_, err = dial(t, s, nil).Publish(ctx, "q", []byte("unsealed"))
	require.NoError(t, err)

	// A consumer whose keyring lacks the new key.
	ds, err := dial(t, s, func(o *Options) { o.Keyring = old }).Fetch(ctx, "q", "old", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.ErrorIs(t, ds[0].Err, seal.ErrUnknownKey)
	require.ErrorIs(t, ds[0].Err, ErrKeyringMismatch)
	require.EqualError(t, ds[0].Err, "swarmmq: message seq 1 of q is sealed with key id 2, which this consumer's keyring does not have")
	require.ErrorIs(t, ds[1].Err, ErrUnsealed, "a sealing client flags unsealed messages")
	require.ErrorIs(t, ds[1].Err, ErrKeyringMismatch)
	require.EqualError(t, ds[1].Err, "swarmmq: message seq 2 of q is not sealed, but this consumer has a keyring "+
		"(does the node run without one? consume without a keyring)")
	require.Nil(t, ds[1].Payload)

	// A consumer without a keyring takes unsealed payloads only.
	ds, err = dial(t, s, nil).Fetch(ctx, "q", "plain", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.ErrorIs(t, ds[0].Err, seal.ErrUnknownKey)
	require.ErrorIs(t, ds[0].Err, ErrKeyringMismatch)
	require.EqualError(t, ds[0].Err, "swarmmq: message seq 1 of q is sealed with key id 2, and this consumer has no keyring")
	require.Nil(t, ds[0].Payload)
	require.NoError(t, ds[1].Err)
	require.Equal(t, "unsealed", string(ds[1].Payload))
	require.Zero(t, ds[1].KeyID)
}

// TestSealedRotation: producers on the old and the rotated keyring, a
// node and a consumer on the rotated one: both open, each with its key.
func TestSealedRotation(t *testing.T) {
	old := testKeyring(t, 1)
	rotated := testKeyring(t, 1, 2)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(rotated)})
	ctx := testCtx(t)
	_, err := dial(t, s, func(o *Options) { o.Keyring = old }).Publish(ctx, "q", []byte("before"))
	require.NoError(t, err)
	_, err = dial(t, s, func(o *Options) { o.Keyring = rotated }).Publish(ctx, "q", []byte("after"))
	require.NoError(t, err)

	ds, err := dial(t, s, func(o *Options) { o.Keyring = rotated }).Fetch(ctx, "q", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	for i, want := range []string{"before", "after"} {
		require.NoError(t, ds[i].Err)
		require.Equal(t, want, string(ds[i].Payload))
		require.Equal(t, uint32(i+1), ds[i].KeyID)
	}
}

// TestSealedDeadLetter: a message moved to q.dlq opens there (it is bound
// to q); one published straight to q.dlq opens too; one moved elsewhere
// does not.
func TestSealedDeadLetter(t *testing.T) {
	kr := testKeyring(t, 1)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(kr)})
	c := dial(t, s, func(o *Options) { o.Keyring = kr })
	ctx := testCtx(t)
	_, err := c.Publish(ctx, "q", []byte("dead-lettered"))
	require.NoError(t, err)
	_, ok := s.DeadLetter("q", 1)
	require.True(t, ok)
	_, err = c.Publish(ctx, "q.dlq", []byte("published to the dlq"))
	require.NoError(t, err)
	_, ok = s.DeadLetter("q.dlq", 1)
	require.True(t, ok, "and dead-lettered once more")

	ds, err := c.Fetch(ctx, "q.dlq", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.NoError(t, ds[0].Err)
	require.Equal(t, "dead-lettered", string(ds[0].Payload))
	require.Equal(t, "q.dlq", ds[0].Destination)
	require.NoError(t, ds[1].Err)
	require.Equal(t, "published to the dlq", string(ds[1].Payload))

	ds, err = c.Fetch(ctx, "q.dlq.dlq", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, ds[0].Err)
	require.Equal(t, "dead-lettered", string(ds[0].Payload))
}

// TestConsumeSkipsWithheld: Consume hands only openable deliveries to the
// handler and does not ack the others.
func TestConsumeSkipsWithheld(t *testing.T) {
	kr := testKeyring(t, 1)
	s := startServer(t, clienttest.Options{Record: true})
	var logs lockedBuffer
	c := dial(t, s, func(o *Options) { o.Keyring = kr; o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	_, err := c.Publish(ctx, "q", []byte("a"), []byte("b"), []byte("c"))
	require.NoError(t, err)
	require.True(t, s.Update("q", 2, func(m *frame.Message) { m.Payload[0] ^= 1 }))

	var got []string
	err = c.Consume(ctx, "q", "g", ConsumeOptions{Wait: 10 * time.Millisecond}, func(_ context.Context, ds []Delivery) error {
		for _, d := range ds {
			require.NoError(t, d.Err)
			got = append(got, string(d.Payload))
		}
		cancel()
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c"}, got)
	var acked []uint64
	for _, f := range framesOf(s, frame.TypeAck) {
		a, err := frame.DecodeAck(f.Body)
		require.NoError(t, err)
		for i := range a.Len() {
			acked = append(acked, a.Seq(i))
		}
	}
	require.Equal(t, []uint64{1, 3}, acked, "seq 2 is left to the ack timeout")
	require.Contains(t, logs.String(), "delivery withheld")
	require.Contains(t, logs.String(), "seq=2")
}

// lockedBuffer is a bytes.Buffer safe for concurrent use, for logs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestOpenErrorUnwraps(t *testing.T) {
	err := opener{dest: []byte("q")}.fail(3, 1, seal.ErrAuth, "")
	require.True(t, errors.Is(err, seal.ErrAuth))
	require.False(t, errors.Is(err, seal.ErrUnknownKey))
	require.False(t, errors.Is(err, ErrKeyringMismatch), "a tampered message is not a configuration error")
}

// TestConsumeReleasesOnKeyringMismatch: a consumer whose keyring lacks the
// messages' key gives the whole batch back with Release (attempts not
// counted: the next delivery is attempt 1 again) and Consume returns the
// error, however often it is run; the handler sees nothing.
func TestConsumeReleasesOnKeyringMismatch(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	ctx := testCtx(t)
	_, err := dial(t, s, func(o *Options) { o.Keyring = testKeyring(t, 1, 2) }).Publish(ctx, "q", []byte("a"), []byte("b"))
	require.NoError(t, err)
	wrong := dial(t, s, func(o *Options) { o.Keyring = testKeyring(t, 1) })
	for range 3 {
		err = wrong.Consume(ctx, "q", "g", ConsumeOptions{Wait: 10 * time.Millisecond}, func(context.Context, []Delivery) error {
			t.Error("the handler got deliveries it cannot open")
			return nil
		})
		require.ErrorIs(t, err, ErrKeyringMismatch)
		require.ErrorContains(t, err, "message seq 1 of q is sealed with key id 2, which this consumer's keyring does not have")
	}
	nacks := framesOf(s, frame.TypeNack)
	require.Len(t, nacks, 3)
	for _, f := range nacks {
		require.True(t, frame.Released(f.Header))
	}
	require.Empty(t, framesOf(s, frame.TypeAck))
	ds, err := dial(t, s, func(o *Options) { o.Keyring = testKeyring(t, 1, 2) }).Fetch(ctx, "q", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	for _, d := range ds {
		require.NoError(t, d.Err)
		require.EqualValues(t, 1, d.Attempt, "released deliveries do not count")
	}
}
