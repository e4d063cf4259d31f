package queue

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// testRaw returns n wire messages named prefix0.. with payloads of size
// bytes.
func testRaw(prefix string, n, size int) []byte {
	var raw []byte
	payload := bytes.Repeat([]byte{'x'}, size)
	for i := 0; i < n; i++ {
		raw = appendTestMsg(raw, testID(prefix+string(rune('a'+i%26))+string(rune('a'+i/26%26))), int64(i), payload)
	}
	return raw
}

// sampleRecords returns one well-formed record of each type.
func sampleRecords() []Record {
	return []Record{
		{Type: RecordMessages, Time: 1e9, Dest: []byte("orders"), Count: 3, Raw: testRaw("m", 3, 5)},
		{Type: RecordMessages, Time: -5, Dest: []byte("q"), Count: 0, Raw: nil},
		{Type: RecordAck, Time: 2, Dest: []byte("orders"), Group: []byte("billing"), Count: 3, Seqs: []uint64{1, 9, 1 << 60}},
		{Type: RecordAck, Time: 2, Dest: []byte("q"), Group: []byte("g"), Count: 0, Seqs: []uint64{}},
		{Type: RecordGroupCreate, Time: 3, Dest: []byte("orders"), Group: []byte("billing")},
		{Type: RecordDeadLetter, Time: 4, Dest: []byte("orders"), Group: []byte("billing"), Count: 1, Seqs: []uint64{7}},
		{Type: RecordDestConfig, Time: 5, Dest: []byte("orders"),
			Config: DestConfig{Retention: RetentionLimits, MaxMsgs: 10, MaxBytes: -1, MaxAge: 3e9}},
		{Type: RecordPurge, Time: 6, Dest: []byte("orders")},
		{Type: RecordDestDelete, Time: 7, Dest: []byte("orders")},
		{Type: RecordGroupReset, Time: 8, Dest: []byte("orders"), Group: []byte("billing"), Start: Start{Kind: StartSeq, At: 3}},
		{Type: RecordGroupReset, Time: 8, Dest: []byte("orders"), Group: []byte("late"), Flags: FlagCreate,
			Start: Start{Kind: StartTime, At: 2e9}},
		{Type: RecordGroupDelete, Time: 9, Dest: []byte("orders"), Group: []byte("billing")},
		{Type: RecordReplay, Time: 10, Dest: []byte("orders")},
		{Type: RecordDeadLetterFrom, Time: 11, Dest: []byte("orders"), Group: []byte("billing"), Count: 2,
			Seqs: []uint64{7, 9}, Attempts: []uint32{5, 6}, Reason: ReasonMaxDeliver},
		{Type: RecordTerminate, Time: 12, Dest: []byte("orders"), Group: []byte("billing"), Count: 2,
			Seqs: []uint64{3, 4}, Note: []byte("bad schema")},
		{Type: RecordTerminate, Time: 12, Dest: []byte("orders.dlq"), Group: []byte("ops"), Count: 1, Seqs: []uint64{1}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, want := range sampleRecords() {
		t.Run(want.Type.String(), func(t *testing.T) {
			b := AppendRecord([]byte("prefix"), &want)[len("prefix"):]
			var got Record
			require.NoError(t, DecodeRecord(b, &got))
			require.Equal(t, want.Type, got.Type)
			require.Equal(t, want.Time, got.Time)
			require.Equal(t, want.Dest, got.Dest)
			require.Equal(t, string(want.Group), string(got.Group))
			require.Equal(t, want.Count, got.Count)
			require.Equal(t, len(want.Raw), len(got.Raw))
			require.True(t, bytes.Equal(want.Raw, got.Raw))
			require.Equal(t, len(want.Seqs), len(got.Seqs))
			for i := range want.Seqs {
				require.Equal(t, want.Seqs[i], got.Seqs[i])
			}
			require.Equal(t, want.Config, got.Config)
			require.Equal(t, want.Start, got.Start)
			require.Equal(t, want.Flags, got.Flags)
			require.Equal(t, want.Reason, got.Reason)
			require.Equal(t, string(want.Note), string(got.Note))
			require.Equal(t, len(want.Attempts), len(got.Attempts))
			for i := range want.Attempts {
				require.Equal(t, want.Attempts[i], got.Attempts[i])
			}
			require.Equal(t, b, AppendRecord(nil, &got), "re-encoding differs")
		})
	}
}

// TestMessagesRecordIsPublishBody checks that after the record header the
// bytes are a PUBLISH body: dest str16 | count u32 | messages.
func TestMessagesRecordIsPublishBody(t *testing.T) {
	raw := testRaw("p", 4, 10)
	rec := AppendMessagesRecord(nil, 42, []byte("dest"), 4, raw)
	var body []byte
	body = binary.BigEndian.AppendUint16(body, 4)
	body = append(body, "dest"...)
	body = binary.BigEndian.AppendUint32(body, 4)
	body = append(body, raw...)
	require.Equal(t, body, rec[recordHeaderSize:])
	r := Record{Type: RecordMessages, Time: 42, Dest: []byte("dest"), Count: 4, Raw: raw}
	require.Equal(t, AppendRecord(nil, &r), rec)
}

func TestDecodeRecordReusesAndDoesNotAllocate(t *testing.T) {
	ack := AppendRecord(nil, &sampleRecords()[2])
	msgs := AppendRecord(nil, &sampleRecords()[0])
	r := Record{Seqs: make([]uint64, 0, 8)}
	allocs := testing.AllocsPerRun(100, func() {
		if DecodeRecord(ack, &r) != nil || DecodeRecord(msgs, &r) != nil {
			t.Fatal("decode failed")
		}
	})
	require.Zero(t, allocs)
}

func TestDecodeRecordCorrupt(t *testing.T) {
	f := func(name string, b []byte) {
		t.Helper()
		var r Record
		err := DecodeRecord(b, &r)
		require.Error(t, err, name)
		require.True(t, IsCorrupt(err), "%s: %v", name, err)
	}
	for _, rec := range sampleRecords() {
		b := AppendRecord(nil, &rec)
		for n := 0; n < len(b); n++ {
			f(rec.Type.String()+" truncated", b[:n])
		}
		f(rec.Type.String()+" trailing byte", append(bytes.Clone(b), 0))
	}
	good := AppendRecord(nil, &sampleRecords()[0])
	mut := func(fn func(b []byte)) []byte {
		b := bytes.Clone(good)
		fn(b)
		return b
	}
	f("version", mut(func(b []byte) { b[0] = 2 }))
	f("type", mut(func(b []byte) { b[1] = 9 }))
	f("empty dest", AppendRecord(nil, &Record{Type: RecordGroupCreate, Group: []byte("g")}))
	f("empty group", AppendRecord(nil, &Record{Type: RecordAck, Dest: []byte("q")}))
	f("count too large", mut(func(b []byte) { binary.BigEndian.PutUint32(b[18:], 1<<31) }))
	f("count one more", mut(func(b []byte) { binary.BigEndian.PutUint32(b[18:], 4) }))
	f("count one less", mut(func(b []byte) { binary.BigEndian.PutUint32(b[18:], 2) }))
	f("payload_len overflow", mut(func(b []byte) { binary.BigEndian.PutUint32(b[22+msgLenOff:], 0xffffffff) }))
	ack := AppendRecord(nil, &sampleRecords()[2])
	binary.BigEndian.PutUint32(ack[len(ack)-3*8-4:], 0xffffffff)
	f("seq count huge", ack)
}

func TestApplyRejectsMalformedRecords(t *testing.T) {
	p, err := New(0, Options{})
	require.NoError(t, err)
	raw := testRaw("a", 2, 3)
	for name, r := range map[string]Record{
		"short raw":       {Type: RecordMessages, Dest: []byte("q"), Count: 2, Raw: raw[:len(raw)-1]},
		"count":           {Type: RecordMessages, Dest: []byte("q"), Count: 3, Raw: raw},
		"no dest":         {Type: RecordAck, Group: []byte("g")},
		"no group":        {Type: RecordGroupCreate, Dest: []byte("q")},
		"unknown type":    {Type: 0, Dest: []byte("q"), Group: []byte("g")},
		"dead-letter dlq": {Type: RecordDeadLetter, Dest: []byte("q.dlq"), Group: []byte("g")},
	} {
		_, err := p.Apply(1, &r, nil)
		require.True(t, IsCorrupt(err), "%s: %v", name, err)
	}
	require.Equal(t, uint64(0), p.AppliedIndex())
	require.Empty(t, p.order, "a malformed record changed the state")

	ok := Record{Type: RecordGroupCreate, Dest: []byte("q"), Group: []byte("g")}
	_, err = p.Apply(5, &ok, nil)
	require.NoError(t, err)
	_, err = p.Apply(5, &ok, nil)
	require.ErrorIs(t, err, ErrStaleIndex)
	_, err = p.Apply(4, &ok, nil)
	require.ErrorIs(t, err, ErrStaleIndex)
}

func TestOptions(t *testing.T) {
	var o Options
	o.EnsureDefaults()
	require.NoError(t, o.Validate())
	require.Equal(t, DefaultAckTimeout, o.AckTimeout)
	require.Equal(t, DefaultMaxDeliver, o.MaxDeliver)
	require.Equal(t, int64(DefaultMaxBytes), o.MaxBytes)

	bad := Options{AckTimeout: -1, MaxDeliver: -1, DedupeWindow: -1, DedupeMax: -1, MaxMsgs: -1, MaxBytes: -1, MaxAge: -1}
	bad.EnsureDefaults()
	err := bad.Validate()
	for _, field := range []string{"AckTimeout", "DedupeWindow", "DedupeMax", "MaxMsgs", "MaxBytes", "MaxAge"} {
		require.ErrorContains(t, err, field)
	}
	require.NotContains(t, err.Error(), "MaxDeliver", "negative MaxDeliver means unlimited")
	_, err = New(0, Options{MaxAge: -1})
	require.ErrorContains(t, err, "MaxAge")
}
