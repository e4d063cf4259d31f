package frame

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeMetadataOK decodes arbitrary METADATA_OK bodies: no panic, an
// *Error on failure, every leader index in the table or NoLeader on
// success, and re-encoding gives the same body.
func FuzzDecodeMetadataOK(f *testing.F) {
	for _, b := range goldenInputs(f) {
		if fr, n, err := Decode(b, 0); err == nil && n > 0 && fr.Type == TypeMetadataOK {
			f.Add(fr.Body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var m Metadata
		err := DecodeMetadataOK(body, &m)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%T is not *Error", err)
			}
			return
		}
		for _, l := range m.Leaders {
			if l != NoLeader && int(l) >= len(m.Nodes) {
				t.Fatalf("leader %d outside a table of %d nodes", l, len(m.Nodes))
			}
		}
		again := AppendMetadataOK(nil, 0, m)[HeaderSize:]
		if !bytes.Equal(again, body) {
			t.Fatalf("re-encoded %x\nfrom %x", again, body)
		}
	})
}

// TestDecodeMetadataOKReuses checks that decoding into a kept Metadata
// allocates nothing, and that a failed decode leaves it as it was.
func TestDecodeMetadataOKReuses(t *testing.T) {
	in := Metadata{Epoch: 3, Nodes: [][]byte{[]byte("a:1"), nil}, Leaders: []uint16{0, 1, NoLeader, 1}}
	body := AppendMetadataOK(nil, 1, in)[HeaderSize:]
	var m Metadata
	require.NoError(t, DecodeMetadataOK(body, &m))
	require.Equal(t, uint64(3), m.Epoch)
	require.Equal(t, in.Leaders, m.Leaders)
	require.Equal(t, "a:1", string(m.Nodes[0]))
	require.Empty(t, m.Nodes[1])
	require.Zero(t, testing.AllocsPerRun(100, func() {
		if err := DecodeMetadataOK(body, &m); err != nil {
			t.Fatal(err)
		}
	}))
	require.Error(t, DecodeMetadataOK(body[:len(body)-1], &m))
	require.Equal(t, uint64(3), m.Epoch)
	require.Len(t, m.Leaders, 4)
}

// TestProtocolDocMetadataExample keeps the METADATA_OK example of
// docs/protocol.md true: it must be, verbatim, an encode output of
// testdata/metadata.
func TestProtocolDocMetadataExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	require.NoError(t, err)
	golden, err := os.ReadFile("testdata/metadata")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "A METADATA_OK of three nodes")
	require.True(t, ok, "docs/protocol.md lost its METADATA_OK example")
	_, block, _ := strings.Cut(rest, "```text\n")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	require.Contains(t, string(golden), "----\n"+block+"\n")
}
