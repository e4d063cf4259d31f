package forward

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/stages/work"
)

// client stands for a client connection of the forwarding node: it records
// what is sent to it.
type client struct {
	mu       sync.Mutex
	sent     [][]byte
	got      chan struct{}
	released chan struct{} // one per request released
}

func newClient() *client {
	return &client{got: make(chan struct{}, 16), released: make(chan struct{}, 16)}
}

func (c *client) Send(b []byte) error {
	c.mu.Lock()
	c.sent = append(c.sent, append([]byte(nil), b...))
	c.mu.Unlock()
	c.got <- struct{}{}
	return nil
}

func (c *client) SendError(corr uint64, code frame.Code, msg string) error {
	return c.Send(frame.AppendError(nil, corr, code, msg))
}
func (c *client) Closed() bool                          { return false }
func (c *client) MaxFrame() int                         { return 8192 }
func (c *client) Producer() uint64                      { return 0 }
func (c *client) ReleaseBuf(*bytebufferpool.ByteBuffer) { c.released <- struct{}{} }

// reply waits for the one frame sent to c and decodes it.
func (c *client) reply(t *testing.T) frame.Frame {
	t.Helper()
	select {
	case <-c.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no reply reached the client")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, n, err := frame.Decode(c.sent[len(c.sent)-1], 0)
	if err != nil || n == 0 {
		t.Fatalf("reply %x: %v", c.sent[len(c.sent)-1], err)
	}
	return f
}

// request is a request of kind for partition p received on c, carrying raw.
func request(c *client, kind work.Kind, p uint32, raw []byte) *work.Request {
	buf := &bytebufferpool.ByteBuffer{B: append([]byte(nil), raw...)}
	r := work.NewRequest(kind, netio.Inbound{Remote: c, Buf: buf})
	f, _, _ := frame.Decode(raw, 0)
	r.Conn, r.Corr, r.Partition = c, f.Corr, p
	return r
}

// peerResp is a Responder that hands the answer to the waiting caller.
type peerResp struct{ ch chan result }

type result struct {
	payload []byte
	err     error
}

func (r peerResp) Reply(b []byte) error {
	r.ch <- result{payload: append([]byte(nil), b...)}
	return nil
}

func (r peerResp) Fail(code frame.Code, msg string) error {
	r.ch <- result{err: &frame.Error{Code: code, Msg: msg}}
	return nil
}

// link calls srv as a peer link would.
func link(srv *Server) Caller {
	return func(ctx context.Context, to string, payload []byte) ([]byte, error) {
		ch := make(chan result, 1)
		srv.Handle("follower", append([]byte(nil), payload...), peerResp{ch})
		select {
		case r := <-ch:
			return r.payload, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func newForwarder(t *testing.T, call Caller, leader string, mod func(*Options)) *Forwarder {
	t.Helper()
	opts := Options{Self: "n1", Call: call,
		Leader: func(p uint32) (string, bool) { return leader, leader != "" }}
	if mod != nil {
		mod(&opts)
	}
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return f
}

// TestForwardPublish forwards a PUBLISH to a leader whose pipeline answers
// it: the leader sees the client's frame unchanged, with the client's max
// frame and producer session, and the client gets the leader's reply.
func TestForwardPublish(t *testing.T) {
	ring := graph.NewRing[netio.Inbound](4)
	srv := NewServer(ServerOptions{}, ring)
	defer func() { _ = srv.Stop(context.Background()) }()
	f := newForwarder(t, link(srv), "n2", nil)

	c := newClient()
	raw := publishFrame(11, "orders", "a", "b")
	r := request(c, work.KindPublish, 3, raw)
	r.Session, r.Producer = true, 99
	if !f.Forward(r) {
		t.Fatal("Forward declined a request with a known leader")
	}
	in := pop(t, ring)
	if len(in) != 1 {
		t.Fatalf("leader's ring holds %d frames", len(in))
	}
	rep := in[0].Replier()
	if !bytes.Equal(in[0].Buf.B, raw) || rep.Producer() != 99 || rep.MaxFrame() != 8192 || in[0].Conn != nil {
		t.Fatalf("leader got frame %x producer %d max frame %d", in[0].Buf.B, rep.Producer(), rep.MaxFrame())
	}
	ack := frame.AppendPublishAck(nil, 11, []frame.AckEntry{{Seq: 1}, {Seq: 2}})
	if err := rep.Send(ack); err != nil {
		t.Fatal(err)
	}
	if !rep.Closed() || rep.Send(ack) == nil {
		t.Error("a second answer was not refused")
	}
	in[0].Release()
	got := c.reply(t)
	if got.Type != frame.TypePublishAck || got.Corr != 11 {
		t.Fatalf("client got %s corr %d", got.Type, got.Corr)
	}
	<-c.released
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(c.sent[0], ack) || len(c.released) != 0 {
		t.Fatalf("client got %x (want the leader's %x), request released %d more times", c.sent[0], ack, len(c.released))
	}
}

// TestForwardDeclines leaves the request to the router when there is no
// leader, this node leads, all slots are taken, or the frame is too big.
func TestForwardDeclines(t *testing.T) {
	block := make(chan struct{})
	slow := func(ctx context.Context, to string, payload []byte) ([]byte, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil, errors.New("gone")
	}
	raw := publishFrame(1, "d", "x")
	for _, c := range []struct {
		name   string
		leader string
		mod    func(*Options)
	}{
		{"no leader", "", nil},
		{"self", "n1", nil},
		{"too big", "n2", func(o *Options) { o.MaxPayload = EnvelopeHeaderSize + len(raw) - 1 }},
	} {
		f := newForwarder(t, slow, c.leader, c.mod)
		r := request(newClient(), work.KindPublish, 0, raw)
		if f.Forward(r) {
			t.Errorf("%s: forwarded", c.name)
			continue
		}
		r.Release()
	}
	f := newForwarder(t, slow, "n2", func(o *Options) { o.MaxInFlight = 1 })
	cl := newClient()
	if !f.Forward(request(cl, work.KindPublish, 0, raw)) {
		t.Fatal("first request declined")
	}
	r := request(newClient(), work.KindPublish, 0, raw)
	if f.Forward(r) {
		t.Fatal("a request beyond MaxInFlight was forwarded")
	}
	r.Release()
	close(block)
	if got := cl.reply(t); got.Type != frame.TypeError {
		t.Fatalf("failed call answered %s", got.Type)
	}
}

// TestForwardFailures: a failed call and a fatal ERROR from the leader
// both reach the client as NOT_LEADER with its correlation id, on a
// connection that stays open.
func TestForwardFailures(t *testing.T) {
	for _, c := range []struct {
		name string
		call Caller
		want string
	}{
		{"call fails", func(context.Context, string, []byte) ([]byte, error) {
			return nil, errors.New("connection lost")
		}, "connection lost"},
		{"fatal reply", func(context.Context, string, []byte) ([]byte, error) {
			return frame.AppendError(nil, 5, frame.CodeShuttingDown, "bye"), nil
		}, "bye"},
		{"garbage reply", func(context.Context, string, []byte) ([]byte, error) {
			return []byte{0, 0, 0, 1}, nil
		}, "bad reply"},
		{"leader refuses", func(context.Context, string, []byte) ([]byte, error) {
			return nil, &frame.Error{Code: frame.CodeNotLeader, Msg: "moved"}
		}, "moved"},
	} {
		f := newForwarder(t, c.call, "n2", nil)
		cl := newClient()
		if !f.Forward(request(cl, work.KindPublish, 2, publishFrame(5, "d", "x"))) {
			t.Fatalf("%s: declined", c.name)
		}
		got := cl.reply(t)
		code, msg, err := frame.DecodeError(got.Body)
		if got.Type != frame.TypeError || got.Corr != 5 || err != nil || code != frame.CodeNotLeader ||
			!strings.Contains(string(msg), c.want) || !strings.Contains(string(msg), "n2") {
			t.Errorf("%s: client got %s corr %d %s %q", c.name, got.Type, got.Corr, code, msg)
		}
	}
}

// TestServerRefuses: a bad envelope fails BAD_REQUEST; a request the
// pipeline releases unanswered, and one still waiting for a full decode
// ring when the server stops, fail NOT_LEADER; neither holds its slot.
func TestServerRefuses(t *testing.T) {
	ring := graph.NewRing[netio.Inbound](1)
	srv := NewServer(ServerOptions{MaxInFlight: 2}, ring)
	ch := make(chan result, 4)
	srv.Handle("x", []byte{1}, peerResp{ch})
	if r := <-ch; !isCode(r.err, frame.CodeBadRequest) {
		t.Fatalf("bad envelope: %v", r.err)
	}
	env := AppendEnvelope(nil, Envelope{MaxFrame: 4096, Frame: publishFrame(1, "d", "x")})
	srv.Handle("x", env, peerResp{ch}) // fills the ring
	srv.Handle("x", env, peerResp{ch}) // waits for it
	srv.Handle("x", env, peerResp{ch}) // no slot left
	if r := <-ch; !isCode(r.err, frame.CodeNotLeader) || !strings.Contains(r.err.Error(), "too many") {
		t.Fatalf("third request: %v", r.err)
	}
	in := pop(t, ring)
	in[0].Release() // unanswered
	if r := <-ch; !isCode(r.err, frame.CodeNotLeader) || !strings.Contains(r.err.Error(), "unanswered") {
		t.Fatalf("released unanswered: %v", r.err)
	}
	ring.Close()
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for len(ch) > 0 {
		if r := <-ch; !isCode(r.err, frame.CodeNotLeader) {
			t.Fatalf("waiting at stop: %v", r.err)
		}
	}
	for _, in := range ring.PopBatch(nil, 4) {
		in.Release()
	}
	if len(srv.slots) != 0 {
		t.Fatalf("%d slots held after every request was answered", len(srv.slots))
	}
}

func isCode(err error, code frame.Code) bool {
	var fe *frame.Error
	return errors.As(err, &fe) && fe.Code == code
}

// pop waits for the next frame on ring.
func pop(t *testing.T, ring *graph.Ring[netio.Inbound]) []netio.Inbound {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if in := ring.PopBatch(nil, 1); len(in) > 0 {
			return in
		}
		select {
		case <-ring.C():
		case <-deadline:
			t.Fatal("nothing reached the leader's ring")
		}
	}
}
