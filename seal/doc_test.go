package seal

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSealingDocExample parses the keyring example of docs/sealing.md and
// checks the layout constants the document states.
func TestSealingDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/sealing.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	require.True(t, ok, "no yaml block")
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	kr, err := ParseKeyring([]byte(example))
	require.NoError(t, err)
	require.Equal(t, uint32(2), kr.Current())
	require.Equal(t, []uint32{1, 2}, kr.IDs())

	require.Equal(t, 28, Overhead)
	require.Equal(t, 54, AADSize)
	require.Len(t, domain, 16)
	require.Equal(t, "swarmmq/seal v1\x00", domain)
	require.Contains(t, string(doc), `"swarmmq/seal v1\0"`)
}
