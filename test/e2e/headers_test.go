package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

const e2eTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// TestHeadersThroughNode publishes messages with headers through a real
// node with the Go client, unsealed and sealed, restarts the node, and
// fetches them back with their headers intact; messages without headers
// beside them are unchanged.
func TestHeadersThroughNode(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		name := map[bool]string{false: "unsealed", true: "sealed"}[sealed]
		t.Run(name, func(t *testing.T) {
			var kr *seal.Keyring
			if sealed {
				kr = testKeyring(t)
			}
			dir := t.TempDir()
			n := nodetest.Start(t, func(o *stages.Options) {
				o.Keyring = kr
				o.DataDir = dir
			})
			ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
			defer cancel()
			c, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), Keyring: kr})
			if err != nil {
				t.Fatal(err)
			}
			if l := c.Limits(); l.MaxHeaderBytes != frame.MaxHeaderBytes || l.MaxHeaderCount != frame.MaxHeaderCount {
				t.Fatalf("HELLO_OK header limits %d bytes, %d fields", l.MaxHeaderBytes, l.MaxHeaderCount)
			}
			h := client.Headers{"traceparent": {e2eTraceparent}, "content-type": {"application/json", "charset=utf-8"}}
			if _, err := c.PublishMsgs(ctx, "hdr", client.Message{Payload: []byte(`{"a":1}`), Headers: h},
				client.Message{Payload: []byte("plain")}); err != nil {
				t.Fatal(err)
			}
			p, err := c.NewPublisher("hdr", client.PublisherOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.PublishMsg(ctx, client.Message{Payload: []byte("third"), Headers: client.Headers{"schema-id": {"42"}}}, nil); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			c.Close()
			n.Restart()

			c, err = client.Dial(ctx, client.Options{Addr: n.AddrString(), Keyring: kr})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ds, err := c.Fetch(ctx, "hdr", "g", 10, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				payload string
				headers client.Headers
			}{{`{"a":1}`, h}, {"plain", nil}, {"third", client.Headers{"schema-id": {"42"}}}}
			if len(ds) != len(want) {
				t.Fatalf("fetched %d deliveries, want %d", len(ds), len(want))
			}
			for i, d := range ds {
				if d.Err != nil || string(d.Payload) != want[i].payload || !equalHeaders(d.Headers, want[i].headers) {
					t.Errorf("delivery %d: payload %q headers %v err %v, want %q %v", i, d.Payload, d.Headers, d.Err,
						want[i].payload, want[i].headers)
				}
			}
		})
	}
}

func equalHeaders(a, b client.Headers) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") || len(v) != len(b[k]) {
			return false
		}
	}
	return true
}

// TestHeadersRefusedAlone: in one PUBLISH, messages whose header block
// breaks the rules or bounds, or whose flags hold a reserved bit, are
// refused with BAD_HEADERS each, the others are stored, and the
// connection goes on; on a sealing node a header changed after sealing is
// AUTH_FAILED.
func TestHeadersRefusedAlone(t *testing.T) {
	kr := testKeyring(t)
	for _, sealed := range []bool{false, true} {
		name := map[bool]string{false: "unsealed", true: "sealed"}[sealed]
		t.Run(name, func(t *testing.T) {
			n := nodetest.Start(t, func(o *stages.Options) {
				if sealed {
					o.Keyring = kr
				}
			})
			r := nodetest.Handshake(t, n.AddrString())
			s := mustSealer(t, kr)
			prep := func(m frame.Message) frame.Message {
				if sealed {
					return sealedMsg(t, s, m, "hdr")
				}
				return m
			}
			block := func(kv ...string) []byte {
				b := frame.StartHeaderBlock(nil)
				for i := 0; i+1 < len(kv); i += 2 {
					b = frame.AppendHeaderField(b, 0, kv[i], kv[i+1])
				}
				return b
			}
			withH := func(i int, payload string, b []byte) frame.Message {
				m := msg(i, payload)
				m.Headers = b
				return m
			}
			many := make([]string, 0, 2*(frame.MaxHeaderCount+1))
			for range frame.MaxHeaderCount + 1 {
				many = append(many, "k", "v")
			}
			good := prep(withH(1, "good", block("traceparent", e2eTraceparent)))
			tooMany := prep(withH(2, "many", block(many...)))
			tooBig := prep(withH(3, "big", block("k", strings.Repeat("v", frame.MaxHeaderBytes))))
			badKey := prep(withH(4, "key", block("trace parent", "x")))
			badValue := prep(withH(5, "value", block("k", "\xff\xfe")))
			reserved := prep(msg(6, "flag"))
			reserved.Flags = 0x80
			plain := prep(msg(7, "plain"))
			changed := prep(withH(8, "changed", block("traceparent", e2eTraceparent)))
			changed.Headers = block("traceparent", strings.Replace(e2eTraceparent, "-01", "-00", 1))
			want := []frame.Code{frame.CodeOK, frame.CodeBadHeaders, frame.CodeBadHeaders, frame.CodeBadHeaders,
				frame.CodeBadHeaders, frame.CodeBadHeaders, frame.CodeOK, frame.CodeOK}
			if sealed {
				want[7] = frame.CodeAuthFailed
			}
			acks := publishRaw(t, r, "hdr", good, tooMany, tooBig, badKey, badValue, reserved, plain, changed)
			for i, a := range acks {
				if a.Code != want[i] {
					t.Errorf("message %d answered %s, want %s", i+1, a.Code, want[i])
				}
			}
			stored := 3
			if sealed {
				stored = 2
			}
			if got := fetchRaw(t, r, "hdr", "g", 20); len(got) != stored {
				t.Fatalf("stored %d messages, want %d", len(got), stored)
			}
			// The connection carries on.
			if a := publishRaw(t, r, "hdr", prep(withH(9, "after", block("a", "b")))); a[0].Code != frame.CodeOK {
				t.Fatalf("after the refusals: %s", a[0].Code)
			}
		})
	}
}
