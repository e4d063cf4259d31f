package client

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

func TestOptionsValidate(t *testing.T) {
	var o Options
	o.EnsureDefaults()
	require.ErrorContains(t, o.Validate(), `addr "" is not host:port`)
	o.Addr = "localhost:9001"
	require.NoError(t, o.Validate())
	require.Equal(t, uint32(DefaultCredits), o.Credits)
	require.Zero(t, o.MaxFrame, "no limit of the client's own: the node's is always accepted")
	require.NotEmpty(t, o.ClientID)

	o.MaxFrame, o.DialTimeout, o.MaxReconnectWait = 4095, -1, 1
	err := o.Validate()
	require.ErrorContains(t, err, "max frame 4095 out of range")
	require.ErrorContains(t, err, "dial timeout must not be negative")
	require.ErrorContains(t, err, "max reconnect wait")
}

func TestHandshake(t *testing.T) {
	s := startServer(t, clienttest.Options{NodeID: "node-7", Credits: 3, MaxFrame: 8192, Record: true})
	c := dial(t, s, func(o *Options) { o.Credits = 50 })
	require.Equal(t, "node-7", c.NodeID())
	require.Equal(t, 8192, c.MaxFrame())
	c.mu.Lock()
	require.Equal(t, 3, c.mu.home.credits.limit)
	c.mu.Unlock()

	hellos := framesOf(s, frame.TypeHello)
	require.Len(t, hellos, 1)
	h, err := frame.DecodeHello(hellos[0].Body)
	require.NoError(t, err)
	require.Equal(t, "test-client", string(h.ClientID))
	require.Equal(t, uint32(50), h.Credits)
	require.Zero(t, h.MaxFrame, "the default asks for no limit of its own")
	require.NoError(t, c.Ping(testCtx(t)))
}

func TestHandshakeRefused(t *testing.T) {
	s := startServer(t, clienttest.Options{HelloError: &frame.Error{Code: frame.CodeAuthFailed, Msg: "who are you"}})
	_, err := Dial(testCtx(t), Options{Addr: s.Addr()})
	fe, ok := errors.AsType[*frame.Error](err)
	require.True(t, ok, "error %v does not wrap *frame.Error", err)
	require.Equal(t, frame.CodeAuthFailed, fe.Code)
	require.Equal(t, "swarmmq: dial "+s.Addr()+": AUTH_FAILED: who are you", err.Error())
}

func TestPublish(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	res, err := c.Publish(testCtx(t), "test-queue", []byte("a"), []byte("bb"), []byte("ccc"))
	require.NoError(t, err)
	require.Len(t, res, 3)
	for i, r := range res {
		require.NoError(t, r.Err)
		require.Equal(t, uint64(i+1), r.Seq)
		require.False(t, r.Duplicate)
		if i > 0 { // random ids: nothing in one says what the next is
			require.NotEqual(t, res[i-1].ID[:8], r.ID[:8], "id prefix")
			require.NotEqual(t, binary.BigEndian.Uint64(res[i-1].ID[8:])+1, binary.BigEndian.Uint64(r.ID[8:]), "id counter")
		}
	}
	require.NotZero(t, c.ProducerID(), "the node issued a producer session")
	stored := s.Messages("test-queue")
	require.Len(t, stored, 3)
	for i, m := range stored {
		require.Equal(t, res[i].ID, m.ID)
		require.Equal(t, c.ProducerID(), m.Producer)
		require.Positive(t, m.Timestamp)
		require.Equal(t, []string{"a", "bb", "ccc"}[i], string(m.Payload))
	}
}

func TestPublishPerMessageErrors(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(_ string, m frame.Message) frame.Code {
		if string(m.Payload) == "full" {
			return frame.CodeDestinationFull
		}
		return frame.CodeOK
	}})
	c := dial(t, s, nil)
	res, err := c.Publish(testCtx(t), "test-queue", []byte("ok"), []byte("full"), []byte("ok2"))
	require.EqualError(t, err, "1 of 3 messages failed, first: swarmmq: publish to test-queue: DESTINATION_FULL")
	require.NoError(t, res[0].Err)
	require.NoError(t, res[2].Err)
	require.Equal(t, uint64(2), res[2].Seq)
	require.Equal(t, frame.CodeDestinationFull, frame.CodeOf(res[1].Err))
	require.Zero(t, res[1].Seq)

	// A single message: the error is the message's.
	_, err = c.Publish(testCtx(t), "test-queue", []byte("full"))
	require.EqualError(t, err, "swarmmq: publish to test-queue: DESTINATION_FULL")
}

// TestPublishDiskFull: a node whose disk is full refuses messages with
// DISK_FULL entries; the caller sees a retryable error (nothing stored,
// try again later) and the connection carries on.
func TestPublishDiskFull(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(string, frame.Message) frame.Code { return frame.CodeDiskFull }})
	c := dial(t, s, nil)
	res, err := c.Publish(testCtx(t), "test-queue", []byte("a"))
	require.EqualError(t, err, "swarmmq: publish to test-queue: DISK_FULL")
	require.Equal(t, frame.CodeDiskFull, frame.CodeOf(res[0].Err))
	require.True(t, IsRetryable(err))
	require.True(t, IsRetryable(res[0].Err))
	require.NoError(t, c.Ping(testCtx(t)))
}

func TestPublishSplitsFrames(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true, MaxFrame: 4096})
	c := dial(t, s, func(o *Options) { o.MaxFrame = 4096 })
	payloads := make([][]byte, 10)
	for i := range payloads {
		payloads[i] = make([]byte, 1500)
		payloads[i][0] = byte(i)
	}
	big := make([]byte, 4096-32-44+1) // one byte too many to be delivered
	res, err := c.Publish(testCtx(t), "q", append(payloads, big)...)
	require.ErrorContains(t, err, "1 of 11 messages failed")
	require.Equal(t, frame.CodeTooLarge, frame.CodeOf(res[10].Err))
	pubs := framesOf(s, frame.TypePublish)
	require.Len(t, pubs, 5) // 2 messages of 1544 bytes fit in 4096
	n := 0
	for _, f := range pubs {
		require.LessOrEqual(t, len(f.Raw), 4096)
		_, msgs := decodePublish(t, f)
		n += len(msgs)
	}
	require.Equal(t, 10, n)
	for i, r := range res[:10] {
		require.NoError(t, r.Err)
		require.Equal(t, uint64(i+1), r.Seq)
	}
}

func TestPublishServerError(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if f.Type != frame.TypePublish {
			return false
		}
		_ = c.Send(frame.AppendError(nil, f.Corr, frame.CodeStorage, "disk on fire"))
		return true
	}})
	c := dial(t, s, nil)
	res, err := c.Publish(testCtx(t), "test-queue", []byte("a"), []byte("b"))
	require.ErrorContains(t, err, "2 of 2 messages failed, first: swarmmq: publish to test-queue: STORAGE: disk on fire")
	for _, r := range res {
		require.Equal(t, frame.CodeStorage, frame.CodeOf(r.Err))
	}
	require.True(t, IsRetryable(err))
	// A non-fatal error keeps the connection.
	require.NoError(t, c.Ping(testCtx(t)))
	require.Equal(t, 1, s.Accepted())
}

// TestMaxFrameBelowServer: the default max frame takes the server's, and
// a MaxFrame below it is refused with an error naming both sizes.
func TestMaxFrameBelowServer(t *testing.T) {
	s := startServer(t, clienttest.Options{MaxFrame: 8192})
	require.Equal(t, 8192, dial(t, s, nil).MaxFrame())
	_, err := Dial(testCtx(t), Options{Addr: s.Addr(), MaxFrame: 4096})
	require.Equal(t, frame.CodeBadRequest, frame.CodeOf(err))
	require.ErrorContains(t, err, "max_frame 4096 in HELLO is below this node's max frame 8192")
}

func TestBadNames(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	_, err := c.Publish(testCtx(t), "bad name", []byte("x"))
	require.Equal(t, frame.CodeBadDestination, frame.CodeOf(err))
	_, err = c.Fetch(testCtx(t), "q", "", 1, 0)
	require.Equal(t, frame.CodeBadGroup, frame.CodeOf(err))
	require.EqualError(t, c.Ack(testCtx(t), "q/1", "g", 1),
		`swarmmq: ack on q/1 for group g: BAD_DESTINATION: destination "q/1" (3 bytes) must be 1-251 bytes of [A-Za-z0-9._-], or up to 255 ending in .dlq`)
	// 252 bytes: its dead-letter destination would not fit in a name.
	_, err = c.Publish(testCtx(t), strings.Repeat("d", frame.MaxDestinationLen+1), []byte("x"))
	require.Equal(t, frame.CodeBadDestination, frame.CodeOf(err))
	require.ErrorContains(t, err, "(252 bytes)")
	_, err = c.Fetch(testCtx(t), strings.Repeat("d", frame.MaxDestinationLen)+frame.DeadLetterSuffix, "g", 1, 0)
	require.NoError(t, err)
	for _, bad := range []string{"", "q/1", strings.Repeat("d", frame.MaxDestinationLen+1)} {
		p, err := c.NewPublisher(bad, PublisherOptions{})
		require.Nil(t, p)
		require.Equal(t, frame.CodeBadDestination, frame.CodeOf(err), "%q", bad)
	}
	_, err = c.NewPublisher("q", PublisherOptions{Window: -1})
	require.ErrorContains(t, err, "window -1 must be at least 1")
}

func TestCreditsBoundOutstanding(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Credits: 2, Intercept: h.intercept})
	c := dial(t, s, nil)
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Publish(testCtx(t), "q", []byte("x"))
			errs <- err
		}()
	}
	// The server never holds more than 2 requests: a third is written only
	// after a reply frees a credit.
	outstanding := []held{h.next(t), h.next(t)}
	for served := 0; served < n; served++ {
		select {
		case x := <-h.frames:
			t.Fatalf("frame %d arrived while 2 were outstanding", x.f.Corr)
		default:
		}
		outstanding[0].serve()
		outstanding = outstanding[1:]
		if served+2 < n {
			outstanding = append(outstanding, h.next(t))
		}
	}
	for range n {
		require.NoError(t, <-errs)
	}
}

func TestRequestTimeout(t *testing.T) {
	h := newHolder(frame.TypeFetch)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, func(o *Options) { o.RequestTimeout = shortRequestTimeout })
	_, err := c.Fetch(testCtx(t), "q", "g", 1, 0)
	require.ErrorIs(t, err, ErrTimeout)
	require.EqualError(t, err, "swarmmq: fetch from q for group g: request timed out")
	require.True(t, IsRetryable(err))
	// The abandoned request keeps its credit until its reply comes.
	h.next(t).serve()
	barrier(t, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Zero(t, c.mu.home.credits.used)
	require.Empty(t, c.mu.pending)
}

func TestContextCancel(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, nil)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := c.Publish(ctx, "q", []byte("x"))
		done <- err
	}()
	h.next(t)
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "swarmmq: publish to q: context canceled")
}

func TestCloseFailsOutstanding(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	c := dial(t, s, nil)
	done := make(chan error, 1)
	go func() {
		_, err := c.Publish(testCtx(t), "q", []byte("x"))
		done <- err
	}()
	h.next(t)
	c.Close()
	require.ErrorIs(t, <-done, ErrClosed)
	_, err := c.Publish(testCtx(t), "q", []byte("x"))
	require.ErrorIs(t, err, ErrClosed)
	c.Close()
}

func TestServerPing(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true, Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if f.Type == frame.TypePing && f.Corr != 99 {
			_ = c.Send(frame.AppendPing(nil, 99))
		}
		return false
	}})
	c := dial(t, s, nil)
	require.NoError(t, c.Ping(testCtx(t)))
	// The PONG to the server's PING is written before anything queued
	// after it: a second ping is a barrier.
	require.NoError(t, c.Ping(testCtx(t)))
	var pongs []uint64
	for _, f := range framesOf(s, frame.TypePong) {
		pongs = append(pongs, f.Corr)
	}
	require.Contains(t, pongs, uint64(99))
}

func TestKeepAlive(t *testing.T) {
	h := newHolder(frame.TypePing)
	s := startServer(t, clienttest.Options{Intercept: h.intercept})
	dial(t, s, func(o *Options) { o.KeepAlive = 5 * time.Millisecond })
	x := h.next(t) // a silent client pings
	x.serve()
	require.Equal(t, 1, s.Accepted())
}

func TestPingTakesNoCredit(t *testing.T) {
	h := newHolder(frame.TypePublish)
	s := startServer(t, clienttest.Options{Credits: 1, Intercept: h.intercept})
	c := dial(t, s, nil)
	done := make(chan error, 1)
	go func() {
		_, err := c.Publish(testCtx(t), "q", []byte("x"))
		done <- err
	}()
	x := h.next(t) // the only credit is taken
	require.NoError(t, c.Ping(testCtx(t)))
	x.serve()
	require.NoError(t, <-done)
}
