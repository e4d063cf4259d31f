package conformance

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
)

// TestCodecAgreesWithFrame checks the runner's encoder, written from
// docs/protocol.md, against package frame's: two implementations of the
// specification that must produce the same bytes.
func TestCodecAgreesWithFrame(t *testing.T) {
	m := frame.Message{ID: [16]byte{1, 2, 3}, Timestamp: 1700000000000000000, Producer: 42, Payload: []byte("hi")}
	q, g := []byte("q"), []byte("g")
	for _, c := range []struct {
		json string
		want []byte
	}{
		{`{"type":"HELLO","corr":1,"client_id":"c","credits":64,"max_frame":0,"flags":1}`,
			frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("c"), Credits: 64, WantLimits: true})},
		{`{"type":"HELLO_OK","corr":1,"flags":1,"node_id":"n","credits":1,"max_frame":4096,"partitions":16,"limits":{"max_deliver":3,"idle_timeout_ms":1000,"max_progress":60}}`,
			frame.AppendHelloOK(nil, 1, frame.HelloOK{NodeID: []byte("n"), Credits: 1, MaxFrame: 4096, Partitions: 16,
				Limits: []frame.Limit{{ID: frame.LimitIdleTimeoutMS, Value: 1000}, {ID: frame.LimitMaxDeliver, Value: 3},
					{ID: frame.LimitMaxProgress, Value: 60}}})},
		{`{"type":"PUBLISH","corr":2,"destination":"q","messages":[{"id":"01020300000000000000000000000000","timestamp":"1700000000000000000","producer":42,"key_id":0,"payload":"hi"}]}`,
			frame.AppendPublish(nil, 2, q, []frame.Message{m})},
		{`{"type":"PUBLISH","corr":2,"destination":"q","messages":[{"id":"01020300000000000000000000000000","timestamp":"1700000000000000000","producer":42,"key_id":5,"headers":[{"key":"traceparent","value":"00-ab"},{"key":"a","value":""},{"key":"a","value":"2"}],"payload":"hi"}]}`,
			frame.AppendPublish(nil, 2, q, []frame.Message{withHeaders(m, 5, "traceparent", "00-ab", "a", "", "a", "2")})},
		{`{"type":"MESSAGES","corr":3,"deliveries":[{"seq":1,"attempt":1,"id":"01020300000000000000000000000000","timestamp":"1700000000000000000","producer":42,"key_id":0,"flags":3,"payload_hex":"0002"}]}`,
			oneDelivery(3, 1, 1, frame.Message{ID: m.ID, Timestamp: m.Timestamp, Producer: 42, Flags: 3, Payload: []byte{0, 2}})},
		{`{"type":"PUBLISH_ACK","corr":2,"entries":[{"code":"OK","flags":1,"seq":7},{"code":"DESTINATION_FULL","seq":0}]}`,
			frame.AppendPublishAck(nil, 2, []frame.AckEntry{{Flags: frame.FlagDuplicate, Seq: 7}, {Code: frame.CodeDestinationFull}})},
		{`{"type":"FETCH","corr":3,"flags":1,"destination":"q","group":"g","max":5,"wait_ms":100,"start":3,"start_at":9}`,
			frame.AppendFetch(nil, 3, frame.Fetch{Destination: q, Group: g, Max: 5, WaitMS: 100, Start: frame.StartSeq, StartAt: 9})},
		{`{"type":"ACK","corr":4,"destination":"q","group":"g","seqs":[1,2]}`, frame.AppendAck(nil, 4, q, g, []uint64{1, 2})},
		{`{"type":"NACK","corr":5,"flags":1,"destination":"q","group":"g","delay_ms":7,"seqs":[3]}`,
			frame.AppendRelease(nil, 5, q, g, 7, []uint64{3})},
		{`{"type":"NACK_OK","corr":5,"count":1}`, frame.AppendNackOK(nil, 5, 1)},
		{`{"type":"TERM","corr":10,"destination":"q","group":"g","reason":"bad schema","seqs":[7]}`,
			frame.AppendTerm(nil, 10, q, g, []byte("bad schema"), []uint64{7})},
		{`{"type":"TERM","corr":11,"destination":"q","group":"g","reason":"","seqs":[]}`,
			frame.AppendTerm(nil, 11, q, g, nil, nil)},
		{`{"type":"TERM","corr":12,"destination":"q","group":"g","reason_hex":"ff00","seqs":[1,2]}`,
			frame.AppendTerm(nil, 12, q, g, []byte{0xff, 0}, []uint64{1, 2})},
		{`{"type":"PROGRESS","corr":13,"destination":"q","group":"g","seqs":[3,4]}`,
			frame.AppendProgress(nil, 13, q, g, []uint64{3, 4})},
		{`{"type":"ERROR","corr":6,"code":"BAD_GROUP","message":"no"}`, frame.AppendError(nil, 6, frame.CodeBadGroup, "no")},
		{`{"type":"PING","corr":7}`, frame.AppendPing(nil, 7)},
		{`{"type":"METADATA_OK","corr":9,"epoch":4,"nodes":["","h:1"],"leaders":[0,1,65535]}`,
			frame.AppendMetadataOK(nil, 9, frame.Metadata{Epoch: 4, Nodes: [][]byte{nil, []byte("h:1")}, Leaders: []uint16{0, 1, frame.NoLeader}})},
	} {
		var fm map[string]any
		d := json.NewDecoder(bytes.NewReader([]byte(c.json)))
		d.UseNumber()
		if err := d.Decode(&fm); err != nil {
			t.Fatal(err)
		}
		got, err := encode(fm)
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s:\n runner %s\n frame  %s", c.json, formatHex(got), formatHex(c.want))
		}
		back, err := decode(got)
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if err := match("frame", normalize(fm), back); err != nil {
			t.Errorf("%s: decoded %s: %v", c.json, show(back), err)
		}
	}
}

// FuzzDecodeFrame decodes arbitrary bytes as one frame: no panic, and a
// frame that decodes encodes back to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range loadForFuzz(f) {
		for _, st := range s.Steps {
			for _, w := range []*Wire{st.Send, st.Expect} {
				if w != nil && w.Hex != "" {
					if b, err := parseHex(w.Hex); err == nil {
						f.Add(b)
					}
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil || len(b) < 4 || int(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))+4 != len(b) || b[4] != 1 {
			return
		}
		again, err := encode(m)
		if err != nil {
			t.Fatalf("decoded %s but cannot encode it: %v", show(m), err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x\nfrom %x (%s)", again, b, show(m))
		}
	})
}

func loadForFuzz(f *testing.F) []*Scenario {
	ss, err := Load(scenariosDir)
	if err != nil {
		f.Fatal(err)
	}
	return ss
}

// withHeaders returns m sealed-looking with key id keyID and a header
// block of key, value pairs.
func withHeaders(m frame.Message, keyID uint32, kv ...string) frame.Message {
	b := frame.StartHeaderBlock(nil)
	for i := 0; i+1 < len(kv); i += 2 {
		b = frame.AppendHeaderField(b, 0, kv[i], kv[i+1])
	}
	m.KeyID, m.Headers = keyID, b
	return m
}

// oneDelivery returns a MESSAGES frame of one delivery of m.
func oneDelivery(corr, seq uint64, attempt uint32, m frame.Message) []byte {
	b := frame.AppendDelivery(frame.StartMessages(nil, corr), seq, attempt, frame.AppendMessage(nil, m))
	frame.FinishMessages(b, 0, 1)
	return b
}
