package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// settleFrames returns what the recorded ACK, NACK and TERM frames of s
// settled, one line per frame, in the order sent.
func settleFrames(t *testing.T, s *clienttest.Server) []string {
	t.Helper()
	var out []string
	for _, f := range s.Frames() {
		switch f.Type {
		case frame.TypeAck:
			a, err := frame.DecodeAck(f.Body)
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("ACK %v", seqsOf(a)))
		case frame.TypeNack:
			n, err := frame.DecodeNack(f.Body)
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("NACK delay=%d %v", n.DelayMS, seqsOf(n)))
		case frame.TypeTerm:
			tm, err := frame.DecodeTerm(f.Body)
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("TERM %q %v", tm.Reason, seqsOf(tm)))
		case frame.TypeProgress:
			a, err := frame.DecodeProgress(f.Body)
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("PROGRESS %v", seqsOf(a)))
		}
	}
	return out
}

func seqsOf(s interface {
	Len() int
	Seq(int) uint64
}) []uint64 {
	out := make([]uint64, s.Len())
	for i := range out {
		out[i] = s.Seq(i)
	}
	return out
}

func publishPayloads(t *testing.T, c *Client, dest string, n int) {
	t.Helper()
	ps := make([][]byte, n)
	for i := range ps {
		ps[i] = fmt.Appendf(nil, "m-%d", i+1)
	}
	_, err := c.Publish(testCtx(t), dest, ps...)
	require.NoError(t, err)
}

// consumeOnce runs Consume for one batch of n deliveries with handle.
func consumeOnce(t *testing.T, c *Client, n int, opts ConsumeOptions,
	handle func(context.Context, []Delivery) error) []Delivery {
	t.Helper()
	ctx, stop := context.WithCancel(testCtx(t))
	defer stop()
	var got []Delivery
	opts.AckWindow = 1 // settled before Consume returns
	err := c.Consume(ctx, "q", "g", opts, func(ctx context.Context, ds []Delivery) error {
		require.Len(t, ds, n)
		got = ds
		defer stop()
		return handle(ctx, ds)
	})
	require.NoError(t, err)
	return got
}

// The handler's own outcomes are sent together after it returns (one
// TERM per reason, one ACK, one NACK per delay); the deliveries it left
// alone follow its return value.
func TestConsumeSettlesEachDelivery(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	publishPayloads(t, c, "q", 6)
	ds := consumeOnce(t, c, 6, ConsumeOptions{NackDelay: time.Second}, func(ctx context.Context, ds []Delivery) error {
		require.NoError(t, ds[1].Term(ctx, "bad"))
		require.NoError(t, ds[2].Nak(ctx, 20*time.Millisecond))
		require.NoError(t, ds[3].Ack(ctx))
		require.ErrorIs(t, ds[3].Term(ctx, "late"), ErrSettled, "settled once")
		require.NoError(t, ds[4].InProgress(ctx), "sent at once")
		require.Equal(t, []string{"PROGRESS [5]"}, settleFrames(t, s), "outcomes wait for the handler's return")
		return errors.New("the rest failed")
	})
	require.Equal(t, []string{
		"PROGRESS [5]",
		`TERM "bad" [2]`,
		"ACK [4]",
		"NACK delay=1000 [1 5 6]", // by delay, in the order of their first seq
		"NACK delay=20 [3]",
	}, settleFrames(t, s))
	require.ErrorIs(t, ds[0].Ack(testCtx(t)), ErrSettled, "the batch is closed once the handler returned")
	reason, ok := s.TermReason("q.dlq", 1)
	require.True(t, ok)
	require.Equal(t, "bad", reason)
}

// With a nil return the deliveries the handler left alone are acked, in
// one ACK with those it acked itself.
func TestConsumeAcksTheRest(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	publishPayloads(t, c, "q", 4)
	consumeOnce(t, c, 4, ConsumeOptions{}, func(ctx context.Context, ds []Delivery) error {
		require.NoError(t, ds[2].Ack(ctx))
		require.NoError(t, ds[3].Nak(ctx, 0))
		return nil
	})
	require.Equal(t, []string{"ACK [1 2 3]", "NACK delay=0 [4]"}, settleFrames(t, s))
}

// Deliveries of Fetch settle at once, each once; AckAll settles those
// left.
func TestFetchedDeliveriesSettleAtOnce(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	publishPayloads(t, c, "q", 4)
	ctx := testCtx(t)
	ds, err := c.Fetch(ctx, "q", "g", 10, time.Second)
	require.NoError(t, err)
	require.Len(t, ds, 4)
	require.NoError(t, ds[0].Term(ctx, string(make([]byte, 300))), "a long reason is cut")
	require.NoError(t, ds[1].Nak(ctx, 0))
	require.ErrorIs(t, ds[1].Ack(ctx), ErrSettled)
	copyOfD2 := ds[2]
	require.NoError(t, copyOfD2.Ack(ctx))
	require.ErrorIs(t, ds[2].Nak(ctx, 0), ErrSettled, "copies share their settlement")
	require.NoError(t, AckAll(ctx, ds))
	frames := settleFrames(t, s)
	require.Len(t, frames, 4)
	require.Equal(t, []string{"NACK delay=0 [2]", "ACK [3]", "ACK [4]"}, frames[1:])
	tm, err := frame.DecodeTerm(framesOf(s, frame.TypeTerm)[0].Body)
	require.NoError(t, err)
	require.Len(t, tm.Reason, MaxTermReason)

	// InProgress is granted while the delivery is in flight, refused
	// (ErrNotHeld) once it is not.
	fresh, err := c.Fetch(ctx, "q", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, fresh, 1) // the nacked one
	require.NoError(t, fresh[0].InProgress(ctx))
	require.NoError(t, c.Ack(ctx, "q", "g", fresh[0].Seq))
	require.ErrorIs(t, fresh[0].InProgress(ctx), ErrNotHeld)
	require.Error(t, Delivery{}.Ack(ctx), "a Delivery built by hand cannot settle")
}

// PublishAgain retries under the first attempt's ids, in the session: the
// messages already stored come back as duplicates and are stored once.
func TestPublishAgainKeepsIDs(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	ctx := testCtx(t)
	first, err := c.Publish(ctx, "q", []byte("a"), []byte("b"))
	require.NoError(t, err)
	again, err := c.PublishAgain(ctx, "q", first, []byte("a"), []byte("b"))
	require.NoError(t, err)
	for i := range first {
		require.Equal(t, first[i].ID, again[i].ID)
		require.True(t, again[i].Duplicate)
		require.Equal(t, first[i].Seq, again[i].Seq)
	}
	require.Len(t, s.Messages("q"), 2)
	pubs := framesOf(s, frame.TypePublish)
	require.Len(t, pubs, 2)
	require.NotZero(t, pubs[0].Flags&frame.FlagSession)
	require.Equal(t, pubs[0].Flags, pubs[1].Flags, "the retry is in the session like the first attempt")
	_, err = c.PublishAgain(ctx, "q", first[:1], []byte("a"), []byte("b"))
	require.Error(t, err)
}
