package client

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

const testTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestHeadersMethods(t *testing.T) {
	var none Headers
	require.Empty(t, none.Get("k"))
	require.Nil(t, none.Values("k"))
	require.Nil(t, none.Clone())
	h := Headers{}
	h.Set("Content-Type", "a")
	h.Add("content-type", "b")
	h.Add("content-type", "c")
	require.Equal(t, "a", h.Get("Content-Type"), "keys keep their case")
	require.Equal(t, "b", h.Get("content-type"))
	require.Equal(t, []string{"b", "c"}, h.Values("content-type"))
	h.Set("content-type", "d")
	require.Equal(t, []string{"d"}, h.Values("content-type"))
	c := h.Clone()
	c.Add("Content-Type", "x")
	require.Equal(t, []string{"a"}, h.Values("Content-Type"), "a clone shares nothing")
	h.Del("Content-Type")
	require.Empty(t, h.Get("Content-Type"))
	require.Len(t, h, 1)
}

// TestHeadersEncoding: keys sorted bytewise, values in their order, the
// same bytes whatever the insertion order; no values means no block.
func TestHeadersEncoding(t *testing.T) {
	b := headerBounds{frame.MaxHeaderBytes, frame.MaxHeaderCount}
	h1 := Headers{}
	h1.Add("traceparent", testTraceparent)
	h1.Add("b", "2")
	h1.Add("B", "1")
	h1.Add("b", "3")
	h2 := Headers{"b": {"2", "3"}, "B": {"1"}, "traceparent": {testTraceparent}}
	e1, err := appendHeaders(nil, h1, b)
	require.NoError(t, err)
	e2, err := appendHeaders(nil, h2, b)
	require.NoError(t, err)
	require.Equal(t, e1, e2)
	require.NoError(t, frame.CheckHeaderBlock(e1, 0, 0))
	var got []string
	frame.HeaderFields(e1, func(k, v []byte) bool {
		got = append(got, string(k)+"="+string(v))
		return true
	})
	require.Equal(t, []string{"B=1", "b=2", "b=3", "traceparent=" + testTraceparent}, got)

	var c Client
	blk, err := c.encodeHeaders(Headers{"k": {}})
	require.NoError(t, err)
	require.Nil(t, blk, "a key without values sends no block")
}

func TestHeadersRules(t *testing.T) {
	b := headerBounds{100, 3}
	f := func(h Headers, want string) {
		t.Helper()
		_, err := appendHeaders(nil, h, b)
		require.Equal(t, frame.CodeBadHeaders, frame.CodeOf(err))
		require.ErrorContains(t, err, want)
	}
	f(Headers{"bad key": {"v"}}, `header key "bad key"`)
	f(Headers{"": {"v"}}, `header key ""`)
	f(Headers{strings.Repeat("k", 256): {"v"}}, "header key")
	f(Headers{"k": {"\xff"}}, "not valid UTF-8")
	f(Headers{"k": {"1", "2", "3", "4"}}, "4 header fields, the node accepts at most 3")
	f(Headers{"k": {strings.Repeat("v", 100)}}, "headers take 109 bytes encoded, the node accepts at most 100")
}

// TestPublishHeaders: headers go out with the message and come back with
// the delivery, through Publish and a Publisher; a message without them is
// sent exactly as before headers existed (no flag, no block).
func TestPublishHeaders(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	ctx := testCtx(t)
	h := Headers{"traceparent": {testTraceparent}, "content-type": {"text/plain"}}
	_, err := c.PublishMsgs(ctx, "q", Message{Payload: []byte("one"), Headers: h}, Message{Payload: []byte("two")})
	require.NoError(t, err)
	p, err := c.NewPublisher("q", PublisherOptions{})
	require.NoError(t, err)
	f, err := p.PublishMsgAsync(ctx, Message{Payload: []byte("three"), Headers: Headers{"schema-id": {"7"}}})
	require.NoError(t, err)
	_, err = f.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Close(ctx))

	msgs := s.Messages("q")
	require.Len(t, msgs, 3)
	require.Equal(t, frame.FlagHeaders, msgs[0].Flags)
	require.Zero(t, msgs[1].Flags)
	require.Nil(t, msgs[1].Headers)
	require.Equal(t, "two", string(msgs[1].Payload))

	ds, err := c.Fetch(ctx, "q", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	require.Equal(t, h, ds[0].Headers)
	require.Equal(t, "one", string(ds[0].Payload))
	require.Nil(t, ds[1].Headers)
	require.Equal(t, Headers{"schema-id": {"7"}}, ds[2].Headers)
	require.Equal(t, "three", string(ds[2].Payload))
}

// TestPublishHeadersRefused: a message with bad headers fails alone,
// before it is sent; a Publisher refuses it at once; a node that lists
// limits without header bounds gets no headers at all.
func TestPublishHeadersRefused(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	c := dial(t, s, nil)
	ctx := testCtx(t)
	many := Headers{}
	for i := range frame.MaxHeaderCount + 1 {
		many.Add(fmt.Sprint("k", i), "v")
	}
	res, err := c.PublishMsgs(ctx, "q", Message{Payload: []byte("ok")}, Message{Payload: []byte("x"), Headers: many},
		Message{Payload: []byte("y"), Headers: Headers{"a b": {"v"}}})
	require.ErrorContains(t, err, "2 of 3 messages failed")
	require.NoError(t, res[0].Err)
	require.Equal(t, frame.CodeBadHeaders, frame.CodeOf(res[1].Err))
	require.Equal(t, frame.CodeBadHeaders, frame.CodeOf(res[2].Err))
	require.Len(t, s.Messages("q"), 1)
	p, err := c.NewPublisher("q", PublisherOptions{})
	require.NoError(t, err)
	err = p.PublishMsg(ctx, Message{Headers: Headers{"a:b": {"v"}}}, nil)
	require.Equal(t, frame.CodeBadHeaders, frame.CodeOf(err))

	old := startServer(t, clienttest.Options{NodeID: "old", Limits: []frame.Limit{{ID: frame.LimitMaxDeliver, Value: 5}}})
	oc := dial(t, old, nil)
	_, err = oc.PublishMsgs(ctx, "q", Message{Payload: []byte("x"), Headers: Headers{"k": {"v"}}})
	require.ErrorContains(t, err, "node old does not accept message headers")
	_, err = oc.PublishMsgs(ctx, "q", Message{Payload: []byte("x")})
	require.NoError(t, err, "without headers nothing changes")
}

// TestSealedHeaders: sealed messages carry their headers in clear and
// bound to the payload: a header changed on the node (CRC fixed up) or
// stripped withholds the delivery (seal.ErrAuth); an unknown flag
// withholds it too (BAD_HEADERS).
func TestSealedHeaders(t *testing.T) {
	kr := testKeyring(t, 3)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(kr)})
	c := dial(t, s, func(o *Options) { o.Keyring = kr })
	ctx := testCtx(t)
	h := Headers{"traceparent": {testTraceparent}}
	var msgs []Message
	for i := range 5 {
		msgs = append(msgs, Message{Payload: fmt.Appendf(nil, "secret %d", i), Headers: h})
	}
	_, err := c.PublishMsgs(ctx, "q", msgs...)
	require.NoError(t, err)
	stored := s.Messages("q")
	require.Contains(t, string(stored[0].Headers), testTraceparent, "headers travel in clear")
	_, err = kr.Open(nil, headerOf("q", stored[0]), stored[0].Payload)
	require.ErrorIs(t, err, seal.ErrAuth, "the header block is in the additional data")

	require.True(t, s.Update("q", 2, func(m *frame.Message) { m.Headers[len(m.Headers)-1] ^= 1 }))
	require.True(t, s.Update("q", 3, func(m *frame.Message) { m.Headers, m.Flags = nil, 0 }))
	require.True(t, s.Update("q", 4, func(m *frame.Message) { m.Flags |= 0x02 }))
	ds, err := c.Fetch(ctx, "q", "g", 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 5)
	for i, d := range ds {
		switch i {
		case 1, 2:
			require.ErrorIs(t, d.Err, seal.ErrAuth, "seq %d", d.Seq)
			require.Nil(t, d.Headers)
		case 3:
			require.Equal(t, frame.CodeBadHeaders, frame.CodeOf(d.Err))
			require.Nil(t, d.Payload)
		default:
			require.NoError(t, d.Err)
			require.Equal(t, h, d.Headers)
			require.Equal(t, fmt.Sprintf("secret %d", i), string(d.Payload))
		}
	}
}
