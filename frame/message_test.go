package frame

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveCRC computes a message's CRC the slow, obvious way, from the spec:
// CRC-32C of the big-endian fields without the crc, then the payload.
func naiveCRC(m Message) uint32 {
	var buf bytes.Buffer
	if m.Headers != nil {
		m.Flags |= FlagHeaders
	}
	fixed := struct {
		ID         [16]byte
		Timestamp  int64
		Producer   uint64
		KeyID      uint32
		PayloadLen uint32
	}{m.ID, m.Timestamp, m.Producer, uint32(m.Flags)<<24 | m.KeyID, uint32(len(m.Headers) + len(m.Payload))}
	if err := binary.Write(&buf, binary.BigEndian, fixed); err != nil {
		panic(err)
	}
	buf.Write(m.Headers)
	buf.Write(m.Payload)
	return crc32.Checksum(buf.Bytes(), crc32.MakeTable(crc32.Castagnoli))
}

func testMessage(payload string) Message {
	return Message{
		ID:        [16]byte{0: 0xa1, 15: 0x5f},
		Timestamp: 1_700_000_000_000_000_000,
		Producer:  42,
		KeyID:     3,
		Payload:   []byte(payload),
	}
}

func TestAppendMessageLayout(t *testing.T) {
	m := testMessage("hello")
	b := AppendMessage([]byte("prefix"), m)
	require.Equal(t, "prefix", string(b[:6]))
	raw := b[6:]
	require.Len(t, raw, MessageHeaderSize+5)
	require.Equal(t, m.ID[:], raw[:16])
	require.Equal(t, uint64(m.Timestamp), binary.BigEndian.Uint64(raw[16:]))
	require.Equal(t, m.Producer, binary.BigEndian.Uint64(raw[24:]))
	require.Equal(t, m.KeyID, binary.BigEndian.Uint32(raw[32:]))
	require.Equal(t, naiveCRC(m), binary.BigEndian.Uint32(raw[36:]))
	require.Equal(t, uint32(5), binary.BigEndian.Uint32(raw[40:]))
	require.Equal(t, "hello", string(raw[44:]))
	require.Equal(t, len(raw), m.Size())
}

func TestParseMessage(t *testing.T) {
	m := testMessage("payload")
	m.CRC = naiveCRC(m)
	raw := AppendMessage(nil, m)

	got, n, err := ParseMessage(append(raw, "next"...))
	require.NoError(t, err)
	require.Equal(t, len(raw), n)
	require.Equal(t, m, got)
	require.True(t, got.Verify())
	require.Equal(t, len(raw), cap(got.Payload)+MessageHeaderSize, "payload capacity must end with the message")

	ts, ok := MessageTime(raw)
	require.True(t, ok)
	require.Equal(t, m.Timestamp, ts)
	_, ok = MessageTime(raw[:MessageHeaderSize-1])
	require.False(t, ok)

	for cut := range len(raw) {
		_, n, err := ParseMessage(raw[:cut])
		require.Equal(t, 0, n)
		require.Equal(t, CodeMalformed, CodeOf(err), "cut=%d", cut)
	}
	huge := bytes.Clone(raw)
	binary.BigEndian.PutUint32(huge[msgPayloadLen:], 0xffffffff)
	_, _, err = ParseMessage(huge)
	require.Equal(t, CodeMalformed, CodeOf(err))
}

func TestVerify(t *testing.T) {
	m := testMessage("payload")
	m.CRC = naiveCRC(m)
	require.True(t, m.Verify())

	flip := []func(*Message){
		func(m *Message) { m.ID[7] ^= 1 },
		func(m *Message) { m.Timestamp++ },
		func(m *Message) { m.Producer ^= 1 << 63 },
		func(m *Message) { m.KeyID++ },
		func(m *Message) { m.CRC ^= 1 },
		func(m *Message) { m.Payload = []byte("paYload") },
		func(m *Message) { m.Payload = m.Payload[:6] },
	}
	for i, f := range flip {
		c := m
		f(&c)
		require.False(t, c.Verify(), "change %d", i)
	}
}

// TestCRCFieldsAgainstNaive holds the slicing-by-8 CRC of Verify and the
// hardware one of AppendMessage to the naive CRC on random messages.
func TestCRCFieldsAgainstNaive(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 2000 {
		m := randMessage(rng, 100)
		want := naiveCRC(m)
		raw := AppendMessage(nil, m)
		require.Equal(t, want, binary.BigEndian.Uint32(raw[msgCRC:]))
		m.CRC = want
		require.True(t, m.Verify())
	}
}

func TestValidDestination(t *testing.T) {
	f := func(name string, want bool) {
		t.Helper()
		require.Equal(t, want, ValidDestination([]byte(name)), "%d bytes %q", len(name), name)
	}
	long := strings.Repeat("x", MaxDestinationLen)
	require.Equal(t, 251, MaxDestinationLen)
	f("test-queue", true)
	f("test-queue.dlq", true)
	f(long, true)
	f(long+"x", false) // 252: its dead-letter name would not fit
	f(strings.Repeat("x", MaxNameLen), false)
	f(long+DeadLetterSuffix, true) // 255: a dead-letter destination
	f(long+"x"+DeadLetterSuffix, false)
	f(long[:MaxDestinationLen-3]+DeadLetterSuffix, true)
	f("", false)
	f("bad name", false)
	f(DeadLetterSuffix, true)
	// Every valid destination that is not a dead-letter one has a valid
	// dead-letter destination.
	for n := 1; n <= MaxNameLen; n++ {
		name := []byte(strings.Repeat("q", n))
		if ValidDestination(name) {
			require.True(t, ValidDestination(AppendDeadLetter(nil, name)), "%d bytes", n)
		}
	}
}

func TestDecodeDestinationLength(t *testing.T) {
	long := []byte(strings.Repeat("d", MaxDestinationLen+1))
	g := []byte("g")
	_, err := DecodePublish(AppendPublish(nil, 1, long, nil)[HeaderSize:], 0)
	require.Equal(t, CodeBadDestination, CodeOf(err))
	_, err = DecodeFetch(AppendFetch(nil, 1, Fetch{Destination: long, Group: g})[HeaderSize:])
	require.Equal(t, CodeBadDestination, CodeOf(err))
	_, err = DecodeAck(AppendAck(nil, 1, long, g, []uint64{1})[HeaderSize:])
	require.Equal(t, CodeBadDestination, CodeOf(err))
	_, err = DecodeNack(AppendNack(nil, 1, long, g, 0, []uint64{1})[HeaderSize:])
	require.Equal(t, CodeBadDestination, CodeOf(err))

	dlq := AppendDeadLetter(nil, long[:MaxDestinationLen])
	require.Len(t, dlq, MaxNameLen)
	f, err := DecodeFetch(AppendFetch(nil, 1, Fetch{Destination: dlq, Group: g})[HeaderSize:])
	require.NoError(t, err)
	require.Equal(t, dlq, f.Destination)
	_, err = DecodeAck(AppendAck(nil, 1, dlq, g, []uint64{1})[HeaderSize:])
	require.NoError(t, err)
}

func TestValidName(t *testing.T) {
	f := func(name string, want bool) {
		t.Helper()
		require.Equal(t, want, ValidName([]byte(name)), "%q", name)
	}
	f("test-queue", true)
	f("a", true)
	f("Orders_v2.dlq", true)
	f("0.1-_", true)
	f(strings.Repeat("x", MaxNameLen), true)
	f("", false)
	f(strings.Repeat("x", MaxNameLen+1), false)
	f("with space", false)
	f("slash/name", false)
	f("star*", false)
	f("ümlaut", false)
	f("nul\x00", false)
	for c := range 256 {
		want := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		require.Equal(t, want, ValidName([]byte{byte(c)}), "byte %#x", c)
	}
}

func TestAppendRelease(t *testing.T) {
	q, g := []byte("test-queue"), []byte("workers")
	b := AppendRelease(nil, 9, q, g, 0, []uint64{4, 5})
	f, n, err := Decode(b, 0)
	require.NoError(t, err)
	require.Equal(t, len(b), n)
	require.Equal(t, FlagRelease, f.Flags)
	require.True(t, Released(f.Header))
	nack, err := DecodeNack(f.Body)
	require.NoError(t, err)
	require.Equal(t, 2, nack.Len())
	// The same body as a plain NACK, which is not released.
	plain := AppendNack(nil, 9, q, g, 0, []uint64{4, 5})
	require.Equal(t, plain[HeaderSize:], b[HeaderSize:])
	f, _, err = Decode(plain, 0)
	require.NoError(t, err)
	require.False(t, Released(f.Header))
	// The flag means nothing on another type.
	f, _, err = Decode(AppendAck(nil, 9, q, g, []uint64{4}), 0)
	require.NoError(t, err)
	f.Flags = FlagRelease
	require.False(t, Released(f.Header))
}
