package client

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// hookLog records every hook call. Safe for concurrent use.
type hookLog struct {
	mu       sync.Mutex
	acks     []PublishResult
	latency  []time.Duration
	fetches  []int
	settles  []string
	connects []string
}

func (h *hookLog) OnPublishAck(dest string, r PublishResult, latency time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.acks = append(h.acks, r)
	h.latency = append(h.latency, latency)
}

func (h *hookLog) OnFetch(dest, group string, n int, _ time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.fetches = append(h.fetches, n)
	}
}

func (h *hookLog) OnSettle(dest, group string, kind SettleKind, n int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.settles = append(h.settles, kind.String()+" "+dest+"/"+group+" "+string(rune('0'+n)))
	}
}

func (h *hookLog) OnConnect(addr string, reconnect bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connects = append(h.connects, map[bool]string{false: "connect", true: "reconnect"}[reconnect])
}

func (h *hookLog) OnDisconnect(addr string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connects = append(h.connects, "disconnect")
}

// TestStatsAndHooks follows messages through both publish paths, a
// fetch and the settlements, in Stats and in the hooks.
func TestStatsAndHooks(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(_ string, m frame.Message) frame.Code {
		if bytes.Equal(m.Payload, []byte("bad")) {
			return frame.CodeDestinationFull
		}
		return frame.CodeOK
	}})
	h := &hookLog{}
	c := dial(t, s, func(o *Options) { o.Hooks = []Hook{h, "not a hook"} })
	p := mustPublisher(t, c, "q", PublisherOptions{})
	for range 6 {
		require.NoError(t, p.Publish(testCtx(t), []byte("p"), func(PublishResult) {}))
	}
	require.NoError(t, p.Publish(testCtx(t), []byte("bad"), func(PublishResult) {}))
	require.NoError(t, c.Flush(testCtx(t)))
	_, err := c.Publish(testCtx(t), "q", []byte("s1"), []byte("s2"))
	require.NoError(t, err)

	st := c.Stats()
	require.Equal(t, uint64(9), st.Sent)
	require.Equal(t, uint64(8), st.Acked)
	require.Equal(t, uint64(1), st.Failed)
	require.Zero(t, st.InFlight)
	require.Zero(t, st.InFlightBytes)
	require.Zero(t, st.Retried)

	ds, err := c.Fetch(testCtx(t), "q", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 8)
	require.NoError(t, ds[0].Nak(testCtx(t), 0))
	require.NoError(t, ds[1].Term(testCtx(t), "no"))
	require.NoError(t, AckAll(testCtx(t), ds[2:]))
	st = c.Stats()
	require.Equal(t, uint64(8), st.Delivered)
	require.Equal(t, uint64(8), st.Settled)

	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.acks, 9)
	failed := 0
	for i, r := range h.acks {
		require.Positive(t, h.latency[i])
		if r.Err != nil {
			failed++
			require.True(t, IsCode(r.Err, CodeDestinationFull))
		}
	}
	require.Equal(t, 1, failed)
	require.Equal(t, []int{8}, h.fetches)
	require.Equal(t, []string{"nak q/g 1", "term q/g 1", "ack q/g 6"}, h.settles)
}

// TestStatsRetried: a PUBLISH whose connection dropped after the node
// stored it is written again and answered as a duplicate.
func TestStatsRetried(t *testing.T) {
	s := startServer(t, clienttest.Options{Intercept: dropFirst(frame.TypePublish, true)})
	h := &hookLog{}
	c := dial(t, s, func(o *Options) { o.Hooks = []Hook{h} })
	_, err := c.Publish(testCtx(t), "q", []byte("a"), []byte("b"), []byte("c")) // one frame
	require.NoError(t, err)
	st := c.Stats()
	require.Equal(t, uint64(3), st.Retried)
	require.Equal(t, uint64(3), st.Duplicates)
	require.Equal(t, uint64(3), st.Acked)
	require.Equal(t, uint64(1), st.Reconnects)
	c.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Equal(t, []string{"connect", "disconnect", "reconnect"}, h.connects)
}

// traceHook sets a trace context on every message, as an OpenTelemetry
// adapter would.
type traceHook struct{ n atomic.Int32 }

func (h *traceHook) OnPublish(dest string, m *Message) {
	m.Headers.Set("traceparent", fmt.Sprintf("00-%032x-%016x-01", h.n.Add(1), 7))
	m.Headers.Set("dest", dest)
}

// TestPublishHook: a HookPublish adds headers to every message, through a
// Publisher and through Client.Publish, with and without headers of the
// application's, never writing into the application's map.
func TestPublishHook(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	h := &traceHook{}
	c := dial(t, s, func(o *Options) { o.Hooks = []Hook{h} })
	mine := Headers{"content-type": {"text/plain"}}
	p := mustPublisher(t, c, "q", PublisherOptions{})
	require.NoError(t, p.PublishMsg(testCtx(t), Message{Payload: []byte("a"), Headers: mine}, nil))
	require.NoError(t, p.Publish(testCtx(t), []byte("b"), nil))
	require.NoError(t, p.Close(testCtx(t)))
	msgs := []Message{{Payload: []byte("c"), Headers: mine}, {Payload: []byte("d")}}
	_, err := c.PublishMsgs(testCtx(t), "q", msgs...)
	require.NoError(t, err)
	require.Equal(t, Headers{"content-type": {"text/plain"}}, mine, "the hook wrote into the application's headers")
	require.Nil(t, msgs[1].Headers, "the hook wrote into the application's slice")

	ds, err := c.Fetch(testCtx(t), "q", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 4)
	seen := map[string]bool{}
	for _, d := range ds {
		tp := d.Headers.Get("traceparent")
		require.Regexp(t, `^00-[0-9a-f]{32}-0000000000000007-01$`, tp, "delivery %d", d.Seq)
		require.False(t, seen[tp], "trace context repeated")
		seen[tp] = true
		require.Equal(t, "q", d.Headers.Get("dest"))
		switch string(d.Payload) {
		case "a", "c":
			require.Equal(t, "text/plain", d.Headers.Get("content-type"))
		default:
			require.Empty(t, d.Headers.Values("content-type"))
		}
	}
}
