package frame

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// block builds a header block of key, value pairs.
func block(kv ...string) []byte {
	b := StartHeaderBlock(nil)
	for i := 0; i+1 < len(kv); i += 2 {
		b = AppendHeaderField(b, 0, kv[i], kv[i+1])
	}
	return b
}

func TestCheckHeaderBlock(t *testing.T) {
	f := func(name string, b []byte, maxBytes, maxCount int, want *Error) {
		t.Helper()
		err := CheckHeaderBlock(b, maxBytes, maxCount)
		if want == nil {
			require.NoError(t, err, name)
			return
		}
		require.Equal(t, want, err, name)
		require.Equal(t, CodeBadHeaders, CodeOf(err), name)
	}
	f("one", block("traceparent", "00-ab-cd-01"), 0, 0, nil)
	f("duplicates kept", block("a", "1", "a", "2", "A", "3"), 0, 0, nil)
	f("empty value", block("k", ""), 0, 0, nil)
	f("utf-8 value", block("k", "grüße ✓"), 0, 0, nil)
	f("every tchar", block("!#$%&'*+-.^_`|~09azAZ", "v"), 0, 0, nil)
	f("key 255", block(strings.Repeat("k", 255), "v"), 0, 0, nil)
	f("key 256", block(strings.Repeat("k", 256), "v"), 0, 0, errHeaderKey)
	f("empty key", block("", "v"), 0, 0, errHeaderKey)
	f("colon in key", block("a:b", "v"), 0, 0, errHeaderKey)
	f("non-ascii key", block("ключ", "v"), 0, 0, errHeaderKey)
	f("value not utf-8", block("k", "\xc3"), 0, 0, errHeaderValue)
	f("no fields", StartHeaderBlock(nil), 0, 0, errHeadersEmpty)
	f("short", []byte{0, 2, 0}, 0, 0, errHeadersShort)
	f("nil", nil, 0, 0, errHeadersShort)
	f("trailing byte", append(block("k", "v"), 0), 0, 0, errHeadersLen)
	b := block("k", "v")
	binary.BigEndian.PutUint16(b[2:], 2) // count says 2, one is there
	f("count too high", b, 0, 0, errHeadersLen)
	b = append(block("k", "v"), 0, 1, 'x')
	binary.BigEndian.PutUint16(b, uint16(len(b)-2)) // a stray byte after the fields
	f("bytes after fields", b, 0, 0, errHeadersLen)

	// Bounds: the protocol's, and a server's own smaller ones.
	kv := make([]string, 0, 2*(MaxHeaderCount+1))
	for range MaxHeaderCount {
		kv = append(kv, "k", "v")
	}
	f("max count", block(kv...), 0, 0, nil)
	f("count over", block(append(kv, "k", "v")...), 0, 0, errHeadersCount)
	f("count over own bound", block("a", "1", "b", "2"), 0, 1, errHeadersCount)
	big := block("k", strings.Repeat("v", MaxHeaderBytes-4-3-2))
	require.Len(t, big, MaxHeaderBytes)
	f("max bytes", big, 0, 0, nil)
	f("bytes over", block("k", strings.Repeat("v", MaxHeaderBytes-4-3-1)), 0, 0, errHeadersBytes)
	f("bytes over own bound", block("k", "vvvv"), 10, 0, errHeadersBytes)
}

func TestHeaderFieldsOrder(t *testing.T) {
	b := block("b", "1", "a", "2", "b", "3")
	var got []string
	HeaderFields(b, func(k, v []byte) bool {
		got = append(got, string(k)+"="+string(v))
		return true
	})
	require.Equal(t, []string{"b=1", "a=2", "b=3"}, got)
}

// TestMessageHeadersRoundTrip: a message with headers parses back into
// the same block and payload; one without is byte for byte the layout
// without flags.
func TestMessageHeadersRoundTrip(t *testing.T) {
	m := Message{ID: [16]byte{1}, Timestamp: 5, Producer: 6, KeyID: MaxKeyID,
		Headers: block("traceparent", "00-x", "schema-id", "7"), Payload: []byte("body")}
	raw := AppendMessage(nil, m)
	require.Equal(t, uint32(FlagHeaders)<<24|MaxKeyID, binary.BigEndian.Uint32(raw[msgKeyID:]))
	require.Equal(t, uint32(len(m.Headers)+4), binary.BigEndian.Uint32(raw[msgPayloadLen:]))
	got, n, err := ParseMessage(raw)
	require.NoError(t, err)
	require.Equal(t, len(raw), n)
	require.Equal(t, m.Size(), n)
	require.Equal(t, FlagHeaders, got.Flags)
	require.Equal(t, uint32(MaxKeyID), got.KeyID)
	require.Equal(t, m.Headers, got.Headers)
	require.Equal(t, m.Payload, got.Payload)
	require.True(t, got.Verify())
	require.NoError(t, got.CheckFlags(0, 0))

	// A changed header byte fails the CRC.
	got.Headers = bytes.Clone(got.Headers)
	got.Headers[len(got.Headers)-1] ^= 1
	require.False(t, got.Verify())

	// Without headers: no flag bit, payload_len the payload's.
	plain := AppendMessage(nil, Message{ID: [16]byte{1}, KeyID: 3, Payload: []byte("body")})
	require.Equal(t, uint32(3), binary.BigEndian.Uint32(plain[msgKeyID:]))
	p, _, err := ParseMessage(plain)
	require.NoError(t, err)
	require.Nil(t, p.Headers)
	require.Zero(t, p.Flags)
}

// FuzzHeaderBlock checks that CheckHeaderBlock never panics, that a block
// it accepts is one HeaderFields walks entirely and that re-encoding its
// fields gives the same bytes, and that a message carrying b parses and
// verifies whatever b is.
func FuzzHeaderBlock(f *testing.F) {
	f.Add(block("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
	f.Add(block("a", "1", "a", "2"))
	f.Add([]byte{0, 0xff, 0, 1})
	f.Add(StartHeaderBlock(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckHeaderBlock(b, 0, 0)
		if err == nil {
			again := StartHeaderBlock(nil)
			n := 0
			HeaderFields(b, func(k, v []byte) bool {
				n++
				again = AppendHeaderField(again, 0, string(k), string(v))
				return true
			})
			if !bytes.Equal(again, b) {
				t.Fatalf("accepted %x, fields re-encode as %x", b, again)
			}
			if n == 0 || n > MaxHeaderCount || len(b) > MaxHeaderBytes {
				t.Fatalf("accepted %d fields in %d bytes", n, len(b))
			}
		} else if CodeOf(err) != CodeBadHeaders {
			t.Fatalf("error %v", err)
		}
		HeaderFields(b, func(k, v []byte) bool { return true }) // never panics
		// The same bytes as the payload region of a flagged message.
		raw := AppendMessage(nil, Message{Flags: FlagHeaders, Payload: b})
		m, n, perr := ParseMessage(raw)
		if perr != nil || n != len(raw) || !m.Verify() {
			t.Fatalf("message with region %x: n=%d err=%v", b, n, perr)
		}
		if (m.CheckFlags(0, 0) == nil) != (CheckHeaderBlock(m.Headers, 0, 0) == nil) {
			t.Fatal("CheckFlags and CheckHeaderBlock disagree")
		}
		if len(m.Headers)+len(m.Payload) != len(b) {
			t.Fatalf("split %d+%d of %d bytes", len(m.Headers), len(m.Payload), len(b))
		}
	})
}
