package client

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

func TestFetchAckNack(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	ctx := testCtx(t)
	res, err := c.Publish(ctx, "test-queue", []byte("one"), []byte("two"), []byte("three"))
	require.NoError(t, err)

	ds, err := c.Fetch(ctx, "test-queue", "workers", 10, 1500*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	for i, d := range ds {
		require.Equal(t, "test-queue", d.Destination)
		require.Equal(t, "workers", d.Group)
		require.Equal(t, uint64(i+1), d.Seq)
		require.Equal(t, uint32(1), d.Attempt)
		require.Equal(t, res[i].ID, d.ID)
		require.Equal(t, c.ProducerID(), d.Producer)
		require.WithinDuration(t, time.Now(), d.Timestamp, time.Minute)
		require.Equal(t, []string{"one", "two", "three"}[i], string(d.Payload))
		require.Equal(t, len(d.Payload), cap(d.Payload), "payloads do not share capacity")
	}
	fetches := framesOf(s, frame.TypeFetch)
	require.Len(t, fetches, 1)
	q, err := frame.DecodeFetch(fetches[0].Body)
	require.NoError(t, err)
	require.Equal(t, frame.Fetch{Destination: []byte("test-queue"), Group: []byte("workers"), Max: 10, WaitMS: 1500}, q)

	require.NoError(t, c.Ack(ctx, "test-queue", "workers", 1, 2))
	acks := framesOf(s, frame.TypeAck)
	require.Len(t, acks, 1)
	a, err := frame.DecodeAck(acks[0].Body)
	require.NoError(t, err)
	require.Equal(t, "test-queue", string(a.Destination))
	require.Equal(t, "workers", string(a.Group))
	require.Equal(t, 2, a.Len())
	require.Equal(t, []uint64{1, 2}, []uint64{a.Seq(0), a.Seq(1)})

	require.NoError(t, c.Nack(ctx, "test-queue", "workers", 2500*time.Millisecond, 3))
	nacks := framesOf(s, frame.TypeNack)
	require.Len(t, nacks, 1)
	n, err := frame.DecodeNack(nacks[0].Body)
	require.NoError(t, err)
	require.Equal(t, uint32(2500), n.DelayMS)
	require.Equal(t, 1, n.Len())
	require.Equal(t, uint64(3), n.Seq(0))

	ds, err = c.Fetch(ctx, "test-queue", "workers", 0, 0)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, uint64(3), ds[0].Seq)
	require.Equal(t, uint32(2), ds[0].Attempt)
	require.NoError(t, c.Ack(ctx, "test-queue", "workers")) // nothing to ack: no request
	require.Len(t, framesOf(s, frame.TypeAck), 1)
}

func TestFetchLongPoll(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	got := make(chan []Delivery, 1)
	go func() {
		ds, err := c.Fetch(testCtx(t), "q", "g", 10, time.Hour)
		if err != nil {
			t.Error(err)
		}
		got <- ds
	}()
	_, err := c.Publish(testCtx(t), "q", []byte("late"))
	require.NoError(t, err)
	ds := <-got
	require.Len(t, ds, 1)
	require.Equal(t, "late", string(ds[0].Payload))

	// Nothing comes: an empty batch when the wait runs out.
	ds, err = c.Fetch(testCtx(t), "q", "g", 10, time.Millisecond)
	require.NoError(t, err)
	require.Empty(t, ds)
}

func TestFetchServerError(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if f.Type != frame.TypeFetch {
			return false
		}
		_ = c.Send(frame.AppendError(nil, f.Corr, frame.CodeBadRequest, "no such group"))
		return true
	}})
	c := dial(t, s, nil)
	_, err := c.Fetch(testCtx(t), "q", "g", 1, 0)
	require.EqualError(t, err, "swarmmq: fetch from q for group g: BAD_REQUEST: no such group")
	require.False(t, IsRetryable(err))
}

func TestFetchChecksum(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if f.Type != frame.TypeFetch {
			return false
		}
		raw := frame.AppendMessage(nil, frame.Message{Payload: []byte("x")})
		raw[len(raw)-1] = 'y' // corrupted after the CRC was computed
		b := frame.StartMessages(nil, f.Corr)
		b = frame.AppendDelivery(b, 7, 1, raw)
		frame.FinishMessages(b, 0, 1)
		_ = c.Send(b)
		return true
	}})
	c := dial(t, s, nil)
	_, err := c.Fetch(testCtx(t), "q", "g", 1, 0)
	require.Equal(t, frame.CodeChecksum, frame.CodeOf(err))
	require.ErrorContains(t, err, "message seq 7 failed its CRC-32C check")
}

func TestAckSplitsFrames(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true, MaxFrame: 4096})
	c := dial(t, s, func(o *Options) { o.MaxFrame = 4096 })
	seqs := make([]uint64, 1200) // 508 per frame
	for i := range seqs {
		seqs[i] = uint64(i + 1)
	}
	require.NoError(t, c.Ack(testCtx(t), "q", "g", seqs...))
	acks := framesOf(s, frame.TypeAck)
	require.Len(t, acks, 3)
	var all []uint64
	for _, f := range acks {
		require.LessOrEqual(t, len(f.Raw), 4096)
		a, err := frame.DecodeAck(f.Body)
		require.NoError(t, err)
		for i := range a.Len() {
			all = append(all, a.Seq(i))
		}
	}
	require.Equal(t, seqs, all)
}

func TestConsume(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	_, err := c.Publish(testCtx(t), "q", []byte("a"), []byte("b"), []byte("c"), []byte("d"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(testCtx(t))
	var seen []string
	failed := false
	// AckWindow 1: each batch is settled before the next fetch, so the
	// nacked batch comes back before the rest.
	err = c.Consume(ctx, "q", "g", ConsumeOptions{Batch: 2, Wait: time.Hour, AckWindow: 1}, func(_ context.Context, ds []Delivery) error {
		for _, d := range ds {
			seen = append(seen, string(d.Payload))
		}
		if !failed { // the first batch fails once and comes back
			failed = true
			return errors.New("not now")
		}
		if len(seen) == 6 {
			cancel()
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "a", "b", "c", "d"}, seen)
	require.Len(t, framesOf(s, frame.TypeNack), 1)
	require.Len(t, framesOf(s, frame.TypeAck), 2, "the last batch is acked although ctx ended")
}

// TestConsumeAckWindow: Consume fetches and handles on while up to
// AckWindow acks are unconfirmed, and returns only once all are.
func TestConsumeAckWindow(t *testing.T) {
	h := newHolder(frame.TypeAck)
	s := startServer(t, clienttest.Options{Intercept: h.intercept, Record: true})
	c := dial(t, s, nil)
	var payloads [][]byte
	for i := range 8 {
		payloads = append(payloads, []byte{'a' + byte(i)})
	}
	_, err := c.Publish(testCtx(t), "q", payloads...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(testCtx(t))
	handled := make(chan string, 8)
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, "q", "g", ConsumeOptions{Batch: 2, Wait: time.Hour, AckWindow: 3},
			func(_ context.Context, ds []Delivery) error {
				for _, d := range ds {
					handled <- string(d.Payload)
				}
				return nil
			})
	}()
	// Three acks held unanswered: the batches after the first were
	// fetched and handled meanwhile, and the fourth waits for a slot.
	acks := []held{h.next(t), h.next(t), h.next(t)}
	for range 6 {
		<-handled
	}
	select {
	case p := <-handled:
		t.Fatalf("%q handled with three acks unconfirmed", p)
	default:
	}
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Consume returned (%v) with acks unconfirmed", err)
	default:
	}
	for _, x := range acks {
		x.serve()
	}
	require.NoError(t, <-done)
	var acked []uint64
	for _, f := range framesOf(s, frame.TypeAck) {
		a, err := frame.DecodeAck(f.Body)
		require.NoError(t, err)
		for i := range a.Len() {
			acked = append(acked, a.Seq(i))
		}
	}
	slices.Sort(acked)
	require.Equal(t, []uint64{1, 2, 3, 4, 5, 6}, acked, "ctx ended: the batches handled were acked, no more fetched")
}

// TestConsumeAckFails: an ack the server refuses ends Consume with that
// error, after the acks on their way are settled, also while Consume
// long-polls: the server answers the acks only once the fourth FETCH (on
// the emptied queue) is parked.
func TestConsumeAckFails(t *testing.T) {
	var (
		mu      sync.Mutex
		fetches int
		held    []clienttest.Frame
	)
	refuse := func(c *clienttest.Conn, f clienttest.Frame) bool {
		mu.Lock()
		defer mu.Unlock()
		switch f.Type {
		case frame.TypeFetch:
			fetches++
		case frame.TypeAck:
			held = append(held, f)
		default:
			return false
		}
		if fetches >= 4 {
			for _, a := range held {
				_ = c.Send(frame.AppendError(nil, a.Corr, frame.CodeBadRequest, "no acks today"))
			}
			held = nil
		}
		return f.Type == frame.TypeAck
	}
	s := startServer(t, clienttest.Options{Intercept: refuse})
	c := dial(t, s, nil)
	_, err := c.Publish(testCtx(t), "q", []byte("a"), []byte("b"), []byte("c"))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		// No deadline: the failed ack must end Consume's long poll.
		done <- c.Consume(context.Background(), "q", "g", ConsumeOptions{Batch: 1, Wait: time.Hour},
			func(context.Context, []Delivery) error { return nil })
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "no acks today")
	case <-time.After(testTimeout):
		t.Fatal("Consume still running after an ack failed")
	}
}
