package frame

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProtocolDocExamples keeps the hex examples of docs/protocol.md true:
// each must be, verbatim, an encode output of testdata/encode and decode
// to one whole, valid frame.
func TestProtocolDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	require.NoError(t, err)
	golden, err := os.ReadFile("testdata/encode")
	require.NoError(t, err)
	blocks := strings.Split(string(doc), "```hex\n")[1:]
	require.GreaterOrEqual(t, len(blocks), 3, "docs/protocol.md must keep at least 3 hex examples")
	for i, block := range blocks {
		block, _, ok := strings.Cut(block, "```")
		require.True(t, ok, "example %d is not closed", i)
		// An example inside a list item is indented like its fence.
		indent := block[:len(block)-len(strings.TrimLeft(block, " "))]
		block = strings.TrimSuffix(strings.ReplaceAll(block, "\n"+indent, "\n"), indent)
		block = strings.TrimPrefix(block, indent)
		require.Contains(t, string(golden)+"\n", "----\n"+block+"\n", "example %d is not a golden encode output", i)
		b, err := parseHex(block)
		require.NoError(t, err)
		f, n, err := Decode(b, 0)
		require.NoError(t, err, "example %d", i)
		require.Equal(t, len(b), n, "example %d", i)
		_, err = decodeFrame(t, f, 0)
		require.NoError(t, err, "example %d", i)
	}
}
