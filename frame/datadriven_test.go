package frame

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// goldenFiles are the datadriven files; each accepts both commands.
//
//	encode
//	<frame in the text form of text_test.go>
//	----
//	<annotated hex>
//
//	decode [max-frame=N] [max-count=N]
//	<hex; white space and # comments ignored>
//	----
//	<each frame in text form, then "need more bytes" or the error>
//
// Regenerate with: go test ./frame/ -run TestGolden -rewrite
var goldenFiles = []string{"testdata/encode", "testdata/decode", "testdata/metadata"}

func TestGolden(t *testing.T) {
	for _, path := range goldenFiles {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "encode":
				tf, err := parseFrame(d.Input)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				return annotate(encodeFrame(nil, tf))
			case "decode":
				return runDecode(t, d)
			}
			d.Fatalf(t, "unknown command %q", d.Cmd)
			return ""
		})
	}
}

func runDecode(t *testing.T, d *datadriven.TestData) string {
	maxFrame, maxCount := 0, 0
	d.MaybeScanArgs(t, "max-frame", &maxFrame)
	d.MaybeScanArgs(t, "max-count", &maxCount)
	b, err := parseHex(d.Input)
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	checkPrefixes(t, b, maxFrame)
	var out strings.Builder
	for len(b) > 0 {
		f, n, err := Decode(b, maxFrame)
		switch {
		case err != nil:
			fmt.Fprintf(&out, "error: %v\n", describeErr(err))
			return out.String()
		case n == 0:
			fmt.Fprintf(&out, "need more bytes (%d buffered)\n", len(b))
			return out.String()
		}
		tf, err := decodeFrame(t, f, maxCount)
		if err != nil {
			fmt.Fprintf(&out, "%s corr=%d\n  body error: %v\n", f.Type, f.Corr, describeErr(err))
		} else {
			fmt.Fprintf(&out, "%s\n", formatFrame(tf, true))
		}
		b = b[n:]
	}
	return out.String()
}

// describeErr prints err, and says so if it is not a *Error.
func describeErr(err error) string {
	if _, ok := err.(*Error); !ok {
		return fmt.Sprintf("%v (%T, not *frame.Error)", err, err)
	}
	return err.Error()
}

// checkPrefixes checks that every prefix of b either needs more bytes or
// gives the result the whole of b gives.
func checkPrefixes(t testing.TB, b []byte, maxFrame int) {
	f, n, err := Decode(b, maxFrame)
	for k := range len(b) {
		pf, pn, perr := Decode(b[:k], maxFrame)
		switch {
		case perr != nil:
			if perr != err {
				t.Fatalf("prefix %d: error %v, whole input: %v", k, perr, err)
			}
		case pn > 0:
			if pn != n || pf.Header != f.Header || len(pf.Body) != len(f.Body) {
				t.Fatalf("prefix %d: frame of %d bytes, whole input: %d bytes, %v", k, pn, n, err)
			}
		case err == nil && n > 0 && n <= k:
			t.Fatalf("prefix %d: need more bytes, but the frame has %d", k, n)
		}
	}
}
