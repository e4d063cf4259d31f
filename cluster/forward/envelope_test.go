package forward

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
)

func publishFrame(corr uint64, dest string, payloads ...string) []byte {
	var msgs []frame.Message
	for i, p := range payloads {
		m := frame.Message{Timestamp: int64(i + 1), Payload: []byte(p)}
		m.ID[0] = byte(i + 1)
		msgs = append(msgs, m)
	}
	return frame.AppendPublish(nil, corr, []byte(dest), msgs)
}

func TestEnvelopeRoundTrip(t *testing.T) {
	f := publishFrame(7, "orders", "a", "bb")
	b := AppendEnvelope(nil, Envelope{Producer: 42, MaxFrame: 4096, Frame: f})
	if len(b) != EnvelopeHeaderSize+len(f) {
		t.Fatalf("envelope is %d bytes, want %d", len(b), EnvelopeHeaderSize+len(f))
	}
	e, err := DecodeEnvelope(b, frame.DefaultMaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	if e.Producer != 42 || e.MaxFrame != 4096 || !bytes.Equal(e.Frame, f) {
		t.Fatalf("decoded %+v", e)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	f := publishFrame(7, "orders", "a")
	good := AppendEnvelope(nil, Envelope{MaxFrame: 4096, Frame: f})
	mut := func(fn func(b []byte) []byte) []byte { return fn(append([]byte(nil), good...)) }
	for _, c := range []struct {
		name, want string
		b          []byte
		maxFrame   int
	}{
		{"short", "the header alone", good[:EnvelopeHeaderSize-1], 0},
		{"op", "unknown op 9", mut(func(b []byte) []byte { b[0] = 9; return b }), 0},
		{"flags", "unknown flags", mut(func(b []byte) []byte { b[1] = 1; return b }), 0},
		{"max frame", "max_frame 255 below 256", mut(func(b []byte) []byte { b[12], b[13] = 0, 255; return b }), 0},
		{"no frame", "cut short (0 bytes)", good[:EnvelopeHeaderSize], 0},
		{"cut", "cut short", good[:len(good)-1], 0},
		{"trailing", "1 bytes after", append(append([]byte(nil), good...), 0), 0},
		{"too large", "client frame", good, 16},
		{"peer type", "client frame", AppendEnvelope(nil, Envelope{MaxFrame: 4096,
			Frame: frame.AppendHeader(nil, frame.Header{Version: frame.Version, Type: frame.TypeRaft})}), 0},
	} {
		_, err := DecodeEnvelope(c.b, c.maxFrame)
		if !errors.Is(err, ErrEnvelope) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrEnvelope saying %q", c.name, err, c.want)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(AppendEnvelope(nil, Envelope{Producer: 1, MaxFrame: 4096, Frame: publishFrame(1, "d", "x")}))
	f.Add(AppendEnvelope(nil, Envelope{MaxFrame: 256, Frame: frame.AppendFetch(nil, 2, frame.Fetch{Destination: []byte("d"), Group: []byte("g")})}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnvelope(b, 1<<16)
		if err != nil {
			return
		}
		again, err := DecodeEnvelope(AppendEnvelope(nil, e), 1<<16)
		if err != nil || again.Producer != e.Producer || again.MaxFrame != e.MaxFrame || !bytes.Equal(again.Frame, e.Frame) {
			t.Fatalf("re-encoding %+v gave %+v, %v", e, again, err)
		}
	})
}
