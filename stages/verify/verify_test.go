package verify

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/stages/work"
)

func newStage(tb testing.TB, kr *seal.Keyring) *Stage {
	tb.Helper()
	s, err := New(Options{Keyring: kr, MaxFrame: 64 << 10},
		Deps{In: graph.NewRing[*work.Request](16), Out: graph.NewRing[*work.Request](16)})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func keyring(tb testing.TB, id uint32) *seal.Keyring {
	tb.Helper()
	k, err := seal.NewKey(id, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := seal.NewKeyring(id, k)
	if err != nil {
		tb.Fatal(err)
	}
	return kr
}

func message(i int, payload []byte) frame.Message {
	var id [16]byte
	binary.BigEndian.PutUint64(id[8:], uint64(i))
	return frame.Message{ID: id, Timestamp: 42, Producer: 7, Payload: payload}
}

func sealed(tb testing.TB, kr *seal.Keyring, m frame.Message, dest string) frame.Message {
	tb.Helper()
	s, err := seal.NewSealer(kr, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	m.KeyID = s.KeyID()
	if m.Payload, err = s.Seal(nil, seal.Header{ID: m.ID, Destination: []byte(dest), Producer: m.Producer,
		Timestamp: m.Timestamp, KeyID: m.KeyID, Headers: m.Headers}, m.Payload); err != nil {
		tb.Fatal(err)
	}
	return m
}

// request builds a decoded PUBLISH request of msgs to dest.
func request(tb testing.TB, dest string, msgs ...frame.Message) *work.Request {
	tb.Helper()
	b := frame.AppendPublish(nil, 1, []byte(dest), msgs)
	f, _, err := frame.Decode(b, len(b))
	if err != nil {
		tb.Fatal(err)
	}
	p, err := frame.DecodePublish(f.Body, 0)
	if err != nil {
		tb.Fatal(err)
	}
	r := &work.Request{Kind: work.KindPublish, Dest: p.Destination, Pub: p}
	r.StartResults(int(p.Count))
	return r
}

func codes(r *work.Request) string {
	out := make([]string, len(r.Results))
	for i, e := range r.Results {
		out[i] = e.Code.String()
	}
	return fmt.Sprint(out)
}

func TestUnsealedMode(t *testing.T) {
	s := newStage(t, nil)
	big := message(3, make([]byte, 64<<10))
	r := request(t, "q", message(1, []byte("plain")), sealed(t, keyring(t, 1), message(2, []byte("x")), "q"), big)
	s.check(r)
	if got, want := codes(r), "[OK UNKNOWN_KEY TOO_LARGE]"; got != want {
		t.Fatalf("codes %s, want %s", got, want)
	}
	if r.Unresolved() != 1 {
		t.Fatalf("open %d, want 1", r.Unresolved())
	}
}

func TestSealedMode(t *testing.T) {
	kr := keyring(t, 1)
	s := newStage(t, kr)
	good := sealed(t, kr, message(1, []byte("secret")), "q")
	tampered := sealed(t, kr, message(2, []byte("secret")), "q")
	tampered.Payload[len(tampered.Payload)-1] ^= 1
	wrongDest := sealed(t, kr, message(3, []byte("secret")), "other")
	foreign := sealed(t, keyring(t, 9), message(4, []byte("secret")), "q")
	r := request(t, "q", good, tampered, wrongDest, foreign, message(5, []byte("plain")))
	s.check(r)
	if got, want := codes(r), "[OK AUTH_FAILED AUTH_FAILED UNKNOWN_KEY AUTH_FAILED]"; got != want {
		t.Fatalf("codes %s, want %s", got, want)
	}
	// A flipped CRC is caught before any decryption.
	b := frame.AppendPublish(nil, 1, []byte("q"), []frame.Message{good})
	b[len(b)-1] ^= 1
	f, _, _ := frame.Decode(b, len(b))
	p, _ := frame.DecodePublish(f.Body, 0)
	r = &work.Request{Kind: work.KindPublish, Dest: p.Destination, Pub: p}
	r.StartResults(1)
	s.check(r)
	if got := codes(r); got != "[CHECKSUM]" {
		t.Fatalf("flipped byte: %s", got)
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	kr := keyring(t, 1)
	s := newStage(t, kr)
	msgs := make([]frame.Message, 100)
	for i := range msgs {
		msgs[i] = sealed(t, kr, message(i, make([]byte, 128)), "q")
	}
	r := request(t, "q", msgs...)
	s.check(r) // grows the scratch buffer once
	if n := testing.AllocsPerRun(20, func() {
		r.StartResults(len(r.Results))
		s.check(r)
	}); n != 0 {
		t.Fatalf("check allocates %v times per batch", n)
	}
}

// withHeaders returns m with a header block of key, value pairs.
func withHeaders(m frame.Message, kv ...string) frame.Message {
	b := frame.StartHeaderBlock(nil)
	for i := 0; i+1 < len(kv); i += 2 {
		b = frame.AppendHeaderField(b, 0, kv[i], kv[i+1])
	}
	m.Headers = b
	return m
}

// TestHeaders: messages with headers pass in both modes; a bad block, an
// oversized one or an unknown flag is BAD_HEADERS for that message alone;
// with a keyring the block is authenticated (a header changed after
// sealing is AUTH_FAILED, a block stripped too).
func TestHeaders(t *testing.T) {
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	badKey := withHeaders(message(2, []byte("x")), "bad key", "v")
	tooMany := message(3, []byte("x"))
	for range frame.MaxHeaderCount + 1 {
		tooMany = withHeaders(tooMany, append(headerPairs(tooMany), "k", "v")...)
	}
	tooBig := withHeaders(message(4, []byte("x")), "k", string(make([]byte, frame.MaxHeaderBytes)))
	unknownFlag := message(5, []byte("x"))
	unknownFlag.Flags = 0x02
	s := newStage(t, nil)
	r := request(t, "q", withHeaders(message(1, []byte("x")), "traceparent", tp), badKey, tooMany, tooBig, unknownFlag,
		message(6, []byte("plain")))
	s.check(r)
	if got, want := codes(r), "[OK BAD_HEADERS BAD_HEADERS BAD_HEADERS BAD_HEADERS OK]"; got != want {
		t.Fatalf("unsealed: codes %s, want %s", got, want)
	}

	kr := keyring(t, 1)
	s = newStage(t, kr)
	good := sealed(t, kr, withHeaders(message(1, []byte("secret")), "traceparent", tp), "q")
	changed := sealed(t, kr, withHeaders(message(2, []byte("secret")), "traceparent", tp), "q")
	changed.Headers = withHeaders(changed, "traceparent", tp[:len(tp)-1]+"0").Headers
	stripped := sealed(t, kr, withHeaders(message(3, []byte("secret")), "traceparent", tp), "q")
	stripped.Headers = nil
	added := sealed(t, kr, message(4, []byte("secret")), "q")
	added = withHeaders(added, "traceparent", tp)
	badSealed := sealed(t, kr, withHeaders(message(5, []byte("secret")), "a:b", "v"), "q")
	r = request(t, "q", good, changed, stripped, added, badSealed)
	s.check(r)
	if got, want := codes(r), "[OK AUTH_FAILED AUTH_FAILED AUTH_FAILED BAD_HEADERS]"; got != want {
		t.Fatalf("sealed: codes %s, want %s", got, want)
	}
}

// headerPairs returns the key, value pairs of m's header block.
func headerPairs(m frame.Message) []string {
	var kv []string
	frame.HeaderFields(m.Headers, func(k, v []byte) bool {
		kv = append(kv, string(k), string(v))
		return true
	})
	return kv
}
