package frame

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeHeader(t *testing.T) {
	b := AppendAckOK(nil, 0x0102030405060708, 5)
	b = append(b, "next frame"...)
	f, n, err := Decode(b, 0)
	require.NoError(t, err)
	require.Equal(t, HeaderSize+4, n)
	require.Equal(t, Header{Version: 1, Type: TypeAckOK, Corr: 0x0102030405060708}, f.Header)
	require.Equal(t, []byte{0, 0, 0, 5}, f.Body)
	require.Equal(t, 4, cap(f.Body), "appending to Body must not overwrite the next frame")

	for cut := range n {
		f, n, err := Decode(b[:cut], 0)
		require.NoError(t, err, "cut=%d", cut)
		require.Equal(t, 0, n, "cut=%d", cut)
		require.Equal(t, Frame{}, f)
	}
}

func TestDecodeErrors(t *testing.T) {
	f := func(name string, b []byte, maxFrame int, want Code) {
		t.Helper()
		_, n, err := Decode(b, maxFrame)
		require.Error(t, err, name)
		require.Equal(t, want, CodeOf(err), "%s: %v", name, err)
		require.Equal(t, 0, n, name)
		_, ok := err.(*Error)
		require.True(t, ok, "%s: %T is not *Error", name, err)
	}
	hdr := func(length uint32, version, typ byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, length)
		return append(b, version, typ, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	f("length 0", []byte{0, 0, 0, 0}, 0, CodeMalformed)
	f("length 11", []byte{0, 0, 0, 11}, 0, CodeMalformed)
	f("4 GiB, length bytes only", []byte{0xff, 0xff, 0xff, 0xff}, 0, CodeTooLarge)
	f("default max frame + 1", binary.BigEndian.AppendUint32(nil, DefaultMaxFrame-3), -1, CodeTooLarge)
	f("max frame 100", binary.BigEndian.AppendUint32(nil, 97), 100, CodeTooLarge)
	f("max frame below header", hdr(12, 1, 12), 15, CodeTooLarge)
	f("version 0", hdr(12, 0, 12)[:5], 0, CodeUnsupportedVersion)
	f("version 2", hdr(12, 2, 12), 0, CodeUnsupportedVersion)
	f("type 0", hdr(12, 1, 0)[:6], 0, CodeUnknownType)
	f("type 20", hdr(1000, 1, 20)[:6], 0, CodeUnknownType)
	f("type 255", hdr(12, 1, 255), 0, CodeUnknownType)
}

func TestDecodeMaxFrameBoundary(t *testing.T) {
	b := StartPublish(nil, 1, []byte("q"))
	b = AppendMessage(b, testMessage("0123456789"))
	FinishPublish(b, 0, 1)
	_, n, err := Decode(b, len(b))
	require.NoError(t, err)
	require.Equal(t, len(b), n)
	_, _, err = Decode(b, len(b)-1)
	require.Equal(t, CodeTooLarge, CodeOf(err))
	// The unlimited 4 GiB case with only a 16-byte buffer: need more bytes.
	big := []byte{0xff, 0xff, 0xff, 0xfb, 1, 12}
	_, n, err = Decode(big, math.MaxInt)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestAppendHeaderPatchLength(t *testing.T) {
	b := []byte("xyz")
	b = AppendHeader(b, Header{Version: 9, Type: 200, Flags: 0xabcd, Corr: 42})
	require.Equal(t, []byte{0, 0, 0, 12, 9, 200, 0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 42}, b[3:])
	b = append(b, "body"...)
	PatchLength(b, 3)
	require.Equal(t, uint32(16), binary.BigEndian.Uint32(b[3:]))
}

func TestTypeString(t *testing.T) {
	want := []string{"TYPE(0)", "HELLO", "HELLO_OK", "PUBLISH", "PUBLISH_ACK", "FETCH", "MESSAGES",
		"ACK", "ACK_OK", "NACK", "NACK_OK", "ERROR", "PING", "PONG", "PRODUCER", "PRODUCER_OK", "METADATA", "METADATA_OK", "TERM", "PROGRESS", "TYPE(20)"}
	for i, w := range want {
		require.Equal(t, w, Type(i).String())
	}
}

// TestDecodeAllocs enforces the zero-allocation decode path: Decode, then
// DecodePublish, then every message and its Verify.
func TestDecodeAllocs(t *testing.T) {
	in := publishFrame(100, 128)
	allocs := testing.AllocsPerRun(100, func() {
		f, _, err := Decode(in, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodePublish(f.Body, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for m, _, ok := p.Next(); ok; m, _, ok = p.Next() {
			if !m.Verify() {
				t.Fatal("bad CRC")
			}
		}
	})
	require.Zero(t, allocs)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		_, _, err := Decode(in[:20], 10)
		if err == nil {
			t.Fatal("no error")
		}
		_, err = DecodeFetch([]byte{0, 1, ' ', 0, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 0})
		if err == nil {
			t.Fatal("no error")
		}
	}), "errors must not allocate")
}

func TestDecodeMessagesAllocs(t *testing.T) {
	raw := AppendMessage(nil, testMessage("0123456789"))
	b := StartMessages(nil, 1)
	for i := range 50 {
		b = AppendDelivery(b, uint64(i), 1, raw)
	}
	FinishMessages(b, 0, 50)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		f, _, _ := Decode(b, 0)
		ms, err := DecodeMessages(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		for d, ok := ms.Next(); ok; d, ok = ms.Next() {
			if !d.Message.Verify() {
				t.Fatal("bad CRC")
			}
		}
	}))
}

// publishFrame returns a PUBLISH frame of count messages with payloads of
// size bytes.
func publishFrame(count, size int) []byte {
	m := testMessage(string(make([]byte, size)))
	start := 0
	b := StartPublish(nil, 1, []byte("bench-queue"))
	for i := range count {
		m.ID[0] = byte(i)
		b = AppendMessage(b, m)
	}
	FinishPublish(b, start, uint32(count))
	return b
}
