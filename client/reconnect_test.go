package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// dropFirst is an Intercept that closes the first connection when the
// first frame of type typ arrives on it, without answering; with store,
// the broker handles the frame first (its reply is lost with the
// connection).
func dropFirst(typ frame.Type, store bool) func(*clienttest.Conn, clienttest.Frame) bool {
	return func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.ID() != 1 || f.Type != typ {
			return false
		}
		if store {
			c.Mute()
			c.Serve(f)
		}
		_ = c.Close()
		return true
	}
}

func TestReconnectResendsSameBytes(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true, Intercept: dropFirst(frame.TypePublish, false)})
	c := dial(t, s, nil)
	res, err := c.Publish(testCtx(t), "q", []byte("a"), []byte("b"))
	require.NoError(t, err)
	require.Equal(t, []uint64{1, 2}, []uint64{res[0].Seq, res[1].Seq})
	require.Equal(t, 2, s.Accepted())
	pubs := framesOf(s, frame.TypePublish)
	require.Len(t, pubs, 2)
	require.Equal(t, 1, pubs[0].Conn)
	require.Equal(t, 2, pubs[1].Conn)
	require.Equal(t, pubs[0].Raw, pubs[1].Raw, "the retry is the same bytes")
	require.Len(t, framesOf(s, frame.TypeHello), 2, "a new HELLO on the new connection")
	require.Len(t, s.Messages("q"), 2)
}

func TestReconnectDeduplicates(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: dropFirst(frame.TypePublish, true)})
	c := dial(t, s, nil)
	res, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.NoError(t, err)
	require.True(t, res[0].Duplicate, "stored before the connection dropped")
	require.Equal(t, uint64(1), res[0].Seq)
	stored := s.Messages("q")
	require.Len(t, stored, 1)
	require.Equal(t, res[0].ID, stored[0].ID)
}

func TestReconnectPublisher(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: dropFirst(frame.TypePublish, true)})
	c := dial(t, s, nil)
	p := mustPublisher(t, c, "q", PublisherOptions{MaxBatch: 7})
	var col collector
	const n = 200
	for range n {
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	}
	require.NoError(t, p.Close(testCtx(t)))
	res := col.get()
	require.Len(t, res, n)
	dups := 0
	for i, r := range res {
		require.NoError(t, r.Err)
		require.Equal(t, uint64(i+1), r.Seq)
		if r.Duplicate {
			dups++
		}
	}
	require.Positive(t, dups)
	require.Len(t, s.Messages("q"), n, "stored exactly once")
}

func TestReconnectResendsAck(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true, Intercept: dropFirst(frame.TypeAck, false)})
	c := dial(t, s, nil)
	require.NoError(t, c.Ack(testCtx(t), "q", "g", 5, 6))
	acks := framesOf(s, frame.TypeAck)
	require.Len(t, acks, 2)
	require.Equal(t, acks[0].Raw, acks[1].Raw)
}

// TestReconnectReissuesFetch checks that a FETCH whose connection dies
// is sent again on the next one, byte for byte, and Fetch does not fail.
func TestReconnectReissuesFetch(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true, Intercept: dropFirst(frame.TypeFetch, false)})
	c := dial(t, s, nil)
	_, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.NoError(t, err)
	ds, err := c.Fetch(testCtx(t), "q", "g", 1, time.Second)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	fetches := framesOf(s, frame.TypeFetch)
	require.Len(t, fetches, 2)
	require.Equal(t, []int{1, 2}, []int{fetches[0].Conn, fetches[1].Conn})
	require.Equal(t, fetches[0].Raw, fetches[1].Raw)
}

func TestFatalErrorReconnects(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.ID() != 1 || f.Type != frame.TypePublish {
			return false
		}
		_ = c.Send(frame.AppendError(nil, 0, frame.CodeShuttingDown, "bye"))
		_ = c.Close()
		return true
	}})
	c := dial(t, s, nil)
	res, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), res[0].Seq)
	require.Equal(t, 2, s.Accepted())
}

func TestFatalRequestError(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.ID() != 1 || f.Type != frame.TypePublish {
			return false
		}
		_ = c.Send(frame.AppendError(nil, f.Corr, frame.CodeMalformed, "bad frame"))
		_ = c.Close()
		return true
	}})
	c := dial(t, s, nil)
	_, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.EqualError(t, err, "swarmmq: publish to q: MALFORMED: bad frame")
	res, err := c.Publish(testCtx(t), "q", []byte("b"))
	require.NoError(t, err, "reconnected")
	require.Equal(t, uint64(1), res[0].Seq)
	require.Equal(t, 2, s.Accepted())
}

func TestGiveUp(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, func(o *Options) { o.MaxReconnects = 2 })
	done := make(chan error, 1)
	go func() {
		_, err := c.Publish(testCtx(t), "q", []byte("a"))
		done <- err
	}()
	h.next(t)
	s.Close()
	err := <-done
	require.ErrorIs(t, err, ErrConnectionLost)
	require.ErrorContains(t, err, "swarmmq: publish to q: connection lost: gave up after 2 reconnect attempts: ")
	_, err = c.Publish(testCtx(t), "q", []byte("b"))
	require.ErrorIs(t, err, ErrConnectionLost)
}

func TestNoReconnect(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: dropFirst(frame.TypePublish, false)})
	c := dial(t, s, func(o *Options) { o.NoReconnect = true })
	_, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.ErrorIs(t, err, ErrConnectionLost)
	require.Equal(t, 1, s.Accepted())
}
