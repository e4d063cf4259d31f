package seal

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

// TestParseKeyring runs testdata/parse:
//
//	parse
//	<keyring file>
//	----
//	<the keyring's String, or the error>
//
// and checks that no error quotes a key text of the input.
func TestParseKeyring(t *testing.T) {
	datadriven.RunTest(t, "testdata/parse", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "parse" {
			d.Fatalf(t, "unknown command %q", d.Cmd)
		}
		kr, err := ParseKeyring([]byte(d.Input))
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidKeyring)
			for _, secret := range keyTexts(d.Input) {
				require.NotContains(t, err.Error(), secret, "an error quotes a key")
			}
			return "error: " + err.Error() + "\n"
		}
		// The canonical file parses to the same keyring.
		again, err := ParseKeyring(kr.AppendFile(nil))
		require.NoError(t, err)
		require.Equal(t, kr.String(), again.String())
		return kr.String() + "\n"
	})
}

// keyTexts returns the runs of 8 or more key characters after "hex:" or
// "base64:" in a file.
func keyTexts(file string) []string {
	var out []string
	for _, m := range keyText.FindAllStringSubmatch(file, -1) {
		for i := 0; i+8 <= len(m[1]); i += 8 {
			out = append(out, m[1][i:i+8])
		}
	}
	return out
}

var keyText = regexp.MustCompile(`(?:hex|base64):([0-9A-Za-z+/]+)`)

func TestParseKeyringTooLarge(t *testing.T) {
	_, err := ParseKeyring([]byte("current: 1\n" + strings.Repeat("#", MaxKeyringSize)))
	require.ErrorIs(t, err, ErrInvalidKeyring)
	require.ErrorContains(t, err, "larger than 1048576")
}
