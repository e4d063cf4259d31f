package peer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
)

// recorder is a Handler that records frames and answers requests: "hold"
// is never answered (its Responder is kept), "fail" gets ERROR STORAGE,
// anything else is echoed back as "re:<payload>".
type recorder struct {
	mu     sync.Mutex
	frames []string // "from:payload"
	held   []Responder
	block  chan struct{} // when not nil, HandleFrame waits on it
	got    chan struct{} // capacity 1, signalled on every frame
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1)} }

func (r *recorder) HandleFrame(from string, _ frame.Type, payload []byte) {
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block != nil {
		<-block
	}
	r.mu.Lock()
	r.frames = append(r.frames, from+":"+string(payload))
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
}

func (r *recorder) HandleRequest(_ string, payload []byte, resp Responder) {
	switch string(payload) {
	case "hold":
		r.mu.Lock()
		r.held = append(r.held, resp)
		r.mu.Unlock()
	case "fail":
		_ = resp.Fail(frame.CodeStorage, "cannot store")
	default:
		_ = resp.Reply(append([]byte("re:"), payload...))
	}
}

func (r *recorder) has(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.frames {
		if f == s {
			return true
		}
	}
	return false
}

// logBuf is a concurrency-safe log sink for checking log lines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is one transport under test.
type node struct {
	t   *Transport
	rec *recorder
	log *logBuf
	set *metrics.Set
}

// testOptions returns fast options for node id of cluster "test".
func testOptions(id string, ln net.Listener, peers map[string]string) Options {
	return Options{
		ID: id, ClusterName: "test", Partitions: 16, Peers: peers, Listener: ln,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Heartbeat: 20 * time.Millisecond, IdleTimeout: 500 * time.Millisecond,
		HandshakeTimeout: time.Second, DialTimeout: time.Second,
	}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

// start builds and starts a transport from opts, closing it at cleanup.
func start(t *testing.T, opts Options) *node {
	t.Helper()
	n := &node{rec: newRecorder(), log: &logBuf{}, set: metrics.NewSet()}
	opts.Handler = n.rec
	opts.Logger = slog.New(slog.NewTextHandler(n.log, nil))
	opts.Metrics = n.set
	tr, err := New(opts)
	require.NoError(t, err)
	require.NoError(t, tr.Start())
	n.t = tr
	t.Cleanup(func() { _ = tr.Close() })
	return n
}

// cluster starts n transports node-1…node-n linked to one another.
func cluster(t *testing.T, n int) []*node {
	t.Helper()
	lns := make([]net.Listener, n)
	peers := map[string]string{}
	for i := range lns {
		lns[i] = listen(t)
		peers[fmt.Sprintf("node-%d", i+1)] = lns[i].Addr().String()
	}
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = start(t, testOptions(fmt.Sprintf("node-%d", i+1), lns[i], peers))
	}
	return nodes
}

// eventually polls cond every millisecond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func (n *node) connected(id string) bool {
	for _, s := range n.t.Peers() {
		if s.ID == id {
			return s.Connected
		}
	}
	return false
}

func (n *node) status(id string) Status {
	for _, s := range n.t.Peers() {
		if s.ID == id {
			return s
		}
	}
	return Status{}
}

// sendUntil sends payload to id until the peer's recorder has it: a frame
// sent before the link is up is dropped by design.
func sendUntil(t *testing.T, from *node, to *node, toID, payload string) {
	t.Helper()
	want := from.t.opts.ID + ":" + payload
	eventually(t, "frame "+want, func() bool {
		_ = from.t.Send(toID, frame.TypeRaft, []byte(payload))
		return to.rec.has(want)
	})
}

// metric returns the value of the named sample in set, or -1.
func metric(set *metrics.Set, name string) float64 {
	var b bytes.Buffer
	set.WritePrometheus(&b)
	for line := range strings.SplitSeq(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

func callCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
