package frame

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// roundTrip encodes tf, decodes it and checks that it comes back equal and
// that encoding the decoded value gives the same bytes.
func roundTrip(t *testing.T, tf testFrame) {
	t.Helper()
	b := encodeFrame([]byte("junk"), tf)[4:]
	f, n, err := Decode(b, math.MaxUint32)
	require.NoError(t, err)
	require.Equal(t, len(b), n)
	require.Equal(t, tf.Header, f.Header)
	got, err := decodeFrame(t, f, 0)
	require.NoError(t, err)
	require.Equal(t, tf, got)
	require.Equal(t, b, encodeFrame(nil, got), "re-encoding differs")
}

func TestRoundTrip(t *testing.T) {
	hdr := func(typ Type) Header { return Header{Version: Version, Type: typ, Corr: 77} }
	msg := testMessage("hello")
	msg.CRC = naiveCRC(msg)
	empty := Message{}
	empty.CRC = naiveCRC(empty)
	q, g := []byte("test-queue"), []byte("workers")
	cases := []struct {
		name string
		tf   testFrame
	}{
		{"ping", testFrame{Header: hdr(TypePing)}},
		{"pong/flags", testFrame{Header: Header{Version: Version, Type: TypePong, Flags: 0xffff, Corr: math.MaxUint64}}},
		{"hello", testFrame{hdr(TypeHello), Hello{ClientID: []byte("c-1"), Credits: 64, MaxFrame: DefaultMaxFrame}}},
		{"hello/empty", testFrame{hdr(TypeHello), Hello{}}},
		{"hello_ok", testFrame{hdr(TypeHelloOK), HelloOK{NodeID: []byte("node-1"), Credits: 1, MaxFrame: math.MaxUint32, Partitions: 16}}},
		{"hello/limits", testFrame{Header{Version: Version, Type: TypeHello, Flags: FlagLimits, Corr: 1}, Hello{WantLimits: true}}},
		{"hello_ok/limits", testFrame{Header{Version: Version, Type: TypeHelloOK, Flags: FlagLimits, Corr: 1}, HelloOK{
			NodeID: []byte("node-1"), Credits: 1, MaxFrame: 4096, Partitions: 16,
			Limits: []Limit{{LimitIdleTimeoutMS, 60000}, {LimitMaxDeliver, 0}, {999, math.MaxUint64}}}}},
		{"hello_ok/limits_empty", testFrame{Header{Version: Version, Type: TypeHelloOK, Flags: FlagLimits, Corr: 1}, HelloOK{
			NodeID: []byte("n"), Limits: []Limit{}}}},
		{"publish", testFrame{hdr(TypePublish), publishBody{Dest: q, Msgs: []Message{msg, empty, msg}}}},
		{"publish/empty", testFrame{hdr(TypePublish), publishBody{Dest: q}}},
		{"publish/max_name", testFrame{hdr(TypePublish), publishBody{Dest: []byte(strings.Repeat("n", MaxDestinationLen)), Msgs: []Message{msg}}}},
		{"publish/max_dlq_name", testFrame{hdr(TypePublish), publishBody{Dest: []byte(strings.Repeat("n", MaxDestinationLen) + DeadLetterSuffix), Msgs: []Message{msg}}}},
		{"publish_ack", testFrame{hdr(TypePublishAck), publishAckBody{Entries: []AckEntry{
			{Code: CodeOK, Seq: 1}, {Code: CodeOK, Flags: FlagDuplicate, Seq: 1},
			{Code: CodeDestinationFull}, {Code: 999, Flags: 0x8001, Seq: math.MaxUint64}}}}},
		{"publish_ack/empty", testFrame{hdr(TypePublishAck), publishAckBody{}}},
		{"fetch", testFrame{hdr(TypeFetch), Fetch{Destination: q, Group: g, Max: 100, WaitMS: 5000}}},
		{"fetch/start", testFrame{Header{Version: Version, Type: TypeFetch, Flags: FlagStart, Corr: 7},
			Fetch{Destination: q, Group: g, Max: 100, WaitMS: 5000, Start: StartSeq, StartAt: 42}}},
		{"messages", testFrame{hdr(TypeMessages), messagesBody{Deliveries: []delivery{
			{Seq: 1, Attempt: 1, Msg: msg}, {Seq: math.MaxUint64, Attempt: 9, Msg: empty}}}}},
		{"messages/empty", testFrame{hdr(TypeMessages), messagesBody{}}},
		{"ack", testFrame{hdr(TypeAck), ackBody{Dest: q, Group: g, Seqs: []uint64{1, 2, math.MaxUint64}}}},
		{"ack/empty", testFrame{hdr(TypeAck), ackBody{Dest: q, Group: g}}},
		{"ack_ok", testFrame{hdr(TypeAckOK), countBody{Count: 3}}},
		{"nack", testFrame{hdr(TypeNack), nackBody{Dest: q, Group: g, DelayMS: 250, Seqs: []uint64{7}}}},
		{"nack_ok", testFrame{hdr(TypeNackOK), countBody{Count: math.MaxUint32}}},
		{"error", testFrame{hdr(TypeError), errorBody{Code: CodeDestinationFull, Msg: []byte("destination q is full")}}},
		{"error/unknown_code", testFrame{hdr(TypeError), errorBody{Code: 4000}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { roundTrip(t, c.tf) })
	}
}

// TestRoundTripRandom is the property test: random frames of every type,
// alone and back to back in one stream, decode to what was encoded.
func TestRoundTripRandom(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range 3000 {
		roundTrip(t, randFrame(rng))
	}
	var stream []byte
	var want []testFrame
	for range 200 {
		tf := randFrame(rng)
		want = append(want, tf)
		stream = encodeFrame(stream, tf)
	}
	for i, tf := range want {
		f, n, err := Decode(stream, 0)
		require.NoError(t, err, "frame %d", i)
		got, err := decodeFrame(t, f, 0)
		require.NoError(t, err)
		require.Equal(t, tf, got, "frame %d", i)
		stream = stream[n:]
	}
	require.Empty(t, stream)
}

func randFrame(rng *rand.Rand) testFrame {
	tf := testFrame{Header: Header{Version: Version, Type: Type(1 + rng.IntN(int(TypeProgress))), Corr: rng.Uint64()}}
	if rng.IntN(4) == 0 {
		tf.Flags = uint16(rng.Uint32())
	}
	switch tf.Type {
	case TypeHello:
		tf.Body = Hello{ClientID: randBytes(rng, 40), Credits: rng.Uint32(), MaxFrame: rng.Uint32(),
			WantLimits: tf.Flags&FlagLimits != 0}
	case TypeHelloOK:
		h := HelloOK{NodeID: randBytes(rng, 40), Credits: rng.Uint32(), MaxFrame: rng.Uint32(), Partitions: rng.Uint32()}
		tf.Flags &^= FlagLimits
		if rng.IntN(3) == 0 {
			tf.Flags |= FlagLimits
			h.Limits = []Limit{}
			for _, id := range rng.Perm(40)[:rng.IntN(20)] {
				h.Limits = append(h.Limits, Limit{ID: LimitID(1 + id), Value: rng.Uint64()})
			}
		}
		tf.Body = h
	case TypePublish:
		b := publishBody{Dest: randName(rng)}
		for range rng.IntN(20) {
			b.Msgs = append(b.Msgs, randMessage(rng, 300))
		}
		tf.Body = b
	case TypePublishAck:
		var b publishAckBody
		for range rng.IntN(20) {
			b.Entries = append(b.Entries, AckEntry{Code: Code(rng.IntN(30)), Flags: uint16(rng.IntN(4)), Seq: rng.Uint64()})
		}
		tf.Body = b
	case TypeFetch:
		f := Fetch{Destination: randName(rng), Group: randName(rng), Max: rng.Uint32(), WaitMS: rng.Uint32()}
		tf.Flags &^= FlagStart
		if rng.IntN(3) == 0 {
			f.Start, f.StartAt = StartEarliest+uint8(rng.IntN(4)), rng.Uint64()
			tf.Flags |= FlagStart
		}
		tf.Body = f
	case TypeMessages:
		var b messagesBody
		for range rng.IntN(20) {
			b.Deliveries = append(b.Deliveries, delivery{Seq: rng.Uint64(), Attempt: rng.Uint32(), Msg: randMessage(rng, 300)})
		}
		tf.Body = b
	case TypeAck:
		tf.Body = ackBody{Dest: randName(rng), Group: randName(rng), Seqs: randSeqs(rng)}
	case TypeNack:
		tf.Body = nackBody{Dest: randName(rng), Group: randName(rng), DelayMS: rng.Uint32(), Seqs: randSeqs(rng)}
	case TypeTerm:
		tf.Body = termBody{Dest: randName(rng), Group: randName(rng), Reason: randBytes(rng, MaxTermReason), Seqs: randSeqs(rng)}
	case TypeProgress:
		tf.Body = progressBody{Dest: randName(rng), Group: randName(rng), Seqs: randSeqs(rng)}
	case TypeAckOK, TypeNackOK:
		tf.Body = countBody{Count: rng.Uint32()}
	case TypeError:
		tf.Body = errorBody{Code: Code(rng.IntN(40)), Msg: randBytes(rng, 80)}
	case TypeProducer:
		tf.Body = Producer{ID: rng.Uint64(), Token: randToken(rng)}
	case TypeProducerOK:
		tf.Body = ProducerOK{ID: rng.Uint64(), Token: randToken(rng), Window: rng.Uint32()}
	case TypeMetadataOK:
		tf.Body = randMetadata(rng)
	}
	return tf
}

func randToken(rng *rand.Rand) (t [TokenSize]byte) {
	for i := range t {
		t[i] = byte(rng.Uint32())
	}
	return t
}

// randMetadata returns a METADATA_OK table: a few nodes (the answering
// one, "", among them now and then) and partitions led by one of them or
// by none.
func randMetadata(rng *rand.Rand) Metadata {
	m := Metadata{Epoch: rng.Uint64()}
	for range rng.IntN(8) {
		m.Nodes = append(m.Nodes, randBytes(rng, 30))
	}
	for range rng.IntN(70) {
		l := NoLeader
		if len(m.Nodes) > 0 && rng.IntN(5) > 0 {
			l = uint16(rng.IntN(len(m.Nodes)))
		}
		m.Leaders = append(m.Leaders, l)
	}
	return m
}

// randMessage returns a message with a correct CRC, or now and then a
// wrong one.
func randMessage(rng *rand.Rand, maxPayload int) Message {
	m := Message{Timestamp: rng.Int64() - math.MaxInt64/2, Producer: rng.Uint64(), Payload: randBytes(rng, maxPayload)}
	for i := range m.ID {
		m.ID[i] = byte(rng.Uint32())
	}
	if rng.IntN(2) == 0 {
		m.KeyID = rng.Uint32() & MaxKeyID
	}
	if rng.IntN(3) == 0 {
		m.Flags, m.Headers = FlagHeaders, randHeaderBlock(rng)
	}
	m.CRC = naiveCRC(m)
	if rng.IntN(10) == 0 {
		m.CRC = rng.Uint32()
	}
	return m
}

// randHeaderBlock returns a valid header block of 1-4 fields, keys from a
// small set (so some repeat).
func randHeaderBlock(rng *rand.Rand) []byte {
	keys := []string{"traceparent", "content-type", "schema-id", "X_y.z~1"}
	b := StartHeaderBlock(nil)
	for range 1 + rng.IntN(4) {
		v := strings.ToValidUTF8(string(randBytes(rng, 20)), "?") // values are UTF-8
		b = AppendHeaderField(b, 0, keys[rng.IntN(len(keys))], v)
	}
	return b
}

func randBytes(rng *rand.Rand, maxLen int) []byte {
	n := rng.IntN(maxLen + 1)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

func randName(rng *rand.Rand) []byte {
	n := 1 + rng.IntN(24)
	if rng.IntN(20) == 0 {
		n = MaxDestinationLen
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = nameChars[rng.IntN(len(nameChars))]
	}
	if n == MaxDestinationLen && rng.IntN(2) == 0 {
		b = append(b, DeadLetterSuffix...) // the longest name: a dead-letter destination
	}
	return b
}

func randSeqs(rng *rand.Rand) []uint64 {
	var s []uint64
	for range rng.IntN(30) {
		s = append(s, rng.Uint64())
	}
	return s
}

// TestBodyErrors checks each decoder's failures that the golden files do
// not spell out, with the code the server would send.
func TestBodyErrors(t *testing.T) {
	f := func(name string, decode func([]byte) error, body []byte, want Code) {
		t.Helper()
		err := decode(body)
		require.Error(t, err, name)
		require.Equal(t, want, CodeOf(err), "%s: %v", name, err)
	}
	hello := func(b []byte) error { _, err := DecodeHello(b); return err }
	helloOK := func(b []byte) error { _, err := DecodeHelloOK(b); return err }
	fetch := func(b []byte) error { _, err := DecodeFetch(b); return err }
	ack := func(b []byte) error { _, err := DecodeAck(b); return err }
	nack := func(b []byte) error { _, err := DecodeNack(b); return err }
	pubAck := func(b []byte) error { _, err := DecodePublishAck(b); return err }
	msgs := func(b []byte) error { _, err := DecodeMessages(b); return err }
	pub := func(b []byte) error { _, err := DecodePublish(b, 0); return err }
	count := func(b []byte) error { _, err := DecodeAckOK(b); return err }
	errf := func(b []byte) error { _, _, err := DecodeError(b); return err }

	body := func(b []byte) []byte { f, _, _ := Decode(b, 0); return f.Body }
	f("hello/short", hello, []byte{0, 1, 'x', 0, 0}, CodeMalformed)
	f("hello/trailing", hello, append(body(AppendHello(nil, 1, Hello{})), 0), CodeMalformed)
	f("hello_ok/short", helloOK, body(AppendHello(nil, 1, Hello{})), CodeMalformed)
	helloOKLimits := func(b []byte) error { _, err := DecodeHelloOKFlags(b, FlagLimits); return err }
	old := body(AppendHelloOK(nil, 1, HelloOK{NodeID: []byte("n")}))
	withLimits := body(AppendHelloOK(nil, 1, HelloOK{NodeID: []byte("n"), Limits: []Limit{{LimitMaxWaitMS, 1}}}))
	f("hello_ok/limits_without_flag", helloOK, withLimits, CodeMalformed)
	f("hello_ok/flag_without_limits", helloOKLimits, old, CodeMalformed)
	f("hello_ok/limits_truncated", helloOKLimits, withLimits[:len(withLimits)-1], CodeMalformed)
	f("hello_ok/limits_trailing", helloOKLimits, append(withLimits, 0), CodeMalformed)
	f("hello_ok/limit_id_0", helloOKLimits, body(AppendHelloOK(nil, 1, HelloOK{Limits: []Limit{{0, 1}}})), CodeMalformed)
	f("hello_ok/limit_twice", helloOKLimits, body(AppendHelloOK(nil, 1, HelloOK{Limits: []Limit{{5, 1}, {6, 1}, {5, 2}}})), CodeMalformed)
	f("fetch/bad_dest", fetch, body(AppendFetch(nil, 1, Fetch{Destination: []byte("a b"), Group: []byte("g")})), CodeBadDestination)
	f("fetch/bad_group", fetch, body(AppendFetch(nil, 1, Fetch{Destination: []byte("q"), Group: nil})), CodeBadGroup)
	f("fetch/bad_name_and_short", fetch, body(AppendFetch(nil, 1, Fetch{}))[:8], CodeMalformed)
	withStart := body(AppendFetch(nil, 1, Fetch{Destination: []byte("q"), Group: []byte("g"), Start: StartLatest}))
	fetchStart := func(b []byte) error { _, err := DecodeFetchFlags(b, FlagStart); return err }
	f("fetch/start_without_flag", fetch, withStart, CodeMalformed)
	f("fetch/flag_without_start", fetchStart, withStart[:len(withStart)-9], CodeMalformed)
	f("fetch/bad_start", fetchStart, append(withStart[:len(withStart)-9:len(withStart)-9], 5, 0, 0, 0, 0, 0, 0, 0, 0), CodeMalformed)
	f("ack/bad_group", ack, body(AppendAck(nil, 1, []byte("q"), []byte("g/1"), nil)), CodeBadGroup)
	f("ack/count", ack, []byte{0, 1, 'q', 0, 1, 'g', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1}, CodeMalformed)
	f("ack/huge_count", ack, []byte{0, 1, 'q', 0, 1, 'g', 0xff, 0xff, 0xff, 0xff}, CodeMalformed)
	f("ack/trailing", ack, append(body(AppendAck(nil, 1, []byte("q"), []byte("g"), []uint64{1})), 0), CodeMalformed)
	f("nack/bad_dest", nack, body(AppendNack(nil, 1, []byte(""), []byte("g"), 1, nil)), CodeBadDestination)
	f("nack/short", nack, body(AppendNack(nil, 1, []byte("q"), []byte("g"), 1, []uint64{1}))[:9], CodeMalformed)
	f("publish_ack/partial_entry", pubAck, []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, CodeMalformed)
	f("publish_ack/trailing", pubAck, []byte{0, 0, 0, 0, 1}, CodeMalformed)
	f("messages/huge_count", msgs, []byte{0xff, 0xff, 0xff, 0xff, 0}, CodeMalformed)
	f("messages/empty", msgs, nil, CodeMalformed)
	f("publish/no_count", pub, []byte{0, 1, 'q', 0, 0}, CodeMalformed)
	f("ack_ok/long", count, []byte{0, 0, 0, 1, 0}, CodeMalformed)
	f("error/short_msg", errf, []byte{0, 14, 0, 5, 'a'}, CodeMalformed)
	f("ping/body", DecodeEmpty, []byte{0}, CodeMalformed)

	m := AppendMessage(nil, testMessage("x"))
	p := StartPublish(nil, 1, []byte("q"))
	p = append(p, m...)
	p = append(p, m...)
	FinishPublish(p, 0, 2)
	f("publish/over_max_count", func(b []byte) error { _, err := DecodePublish(b, 1); return err }, body(p), CodeBadRequest)
	_, err := DecodePublish(body(p), 2)
	require.NoError(t, err)
}
