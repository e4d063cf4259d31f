package router

import (
	"testing"

	"github.com/valyala/bytebufferpool"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
)

type conn struct{ errs []frame.Code }

func (c *conn) Send([]byte) error { return nil }
func (c *conn) SendError(_ uint64, code frame.Code, _ string) error {
	c.errs = append(c.errs, code)
	return nil
}
func (c *conn) Closed() bool                          { return false }
func (c *conn) MaxFrame() int                         { return 4096 }
func (c *conn) Producer() uint64                      { return 0 }
func (c *conn) ReleaseBuf(*bytebufferpool.ByteBuffer) {}

type forwarder struct {
	accept bool
	got    []*work.Request
}

func (f *forwarder) Forward(r *work.Request) bool {
	if f.accept {
		f.got = append(f.got, r)
	}
	return f.accept
}

// TestNotLed: a request for a partition another node leads goes to the
// forwarder; when it declines, or the request was itself forwarded here,
// it is answered NOT_LEADER.
func TestNotLed(t *testing.T) {
	owners, err := owner.New(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	owners.SetLeader(1, false)
	fw := &forwarder{}
	s, _ := New(Deps{In: graph.NewRing[*work.Request](8), Log: graph.NewRing[plog.Proposal](8),
		Fanout: []*graph.Ring[*work.Request]{graph.NewRing[*work.Request](8), graph.NewRing[*work.Request](8)},
		Owners: owners, Now: func() int64 { return 1 }, Forward: fw})
	req := func(p uint32, forwarded bool) (*work.Request, *conn) {
		c := &conn{}
		r := work.NewRequest(work.KindFetch, netio.Inbound{Remote: c, Buf: &bytebufferpool.ByteBuffer{B: []byte{1}}})
		r.Conn, r.Partition, r.Forwarded = c, p, forwarded
		return r, c
	}

	fw.accept = true
	r, c := req(1, false)
	s.handle([]*work.Request{r})
	if len(fw.got) != 1 || len(c.errs) != 0 {
		t.Fatalf("accepted forward: forwarder got %d, client errors %v", len(fw.got), c.errs)
	}
	fw.got[0].Release()

	r, c = req(1, true)
	s.handle([]*work.Request{r})
	if len(fw.got) != 1 || len(c.errs) != 1 || c.errs[0] != frame.CodeNotLeader {
		t.Fatalf("a forwarded request: forwarder got %d, client errors %v", len(fw.got), c.errs)
	}

	fw.accept = false
	r, c = req(1, false)
	s.handle([]*work.Request{r})
	if len(c.errs) != 1 || c.errs[0] != frame.CodeNotLeader {
		t.Fatalf("declined: client errors %v", c.errs)
	}

	r, c = req(2, false)
	s.handle([]*work.Request{r})
	if got := s.deps.Fanout[0].PopBatch(nil, 2); len(got) != 1 || len(c.errs) != 0 {
		t.Fatalf("a led FETCH: fanout got %d, client errors %v", len(got), c.errs)
	}
}
