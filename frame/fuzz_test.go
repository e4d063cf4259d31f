package frame

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// goldenInputs returns every frame of the golden files: the outputs of
// encode and the inputs of decode.
func goldenInputs(tb testing.TB) [][]byte {
	var out [][]byte
	for _, path := range goldenFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		for block := range strings.SplitSeq(string(data), "\n\n") {
			cmd, rest, _ := strings.Cut(strings.TrimLeft(block, "\n"), "\n")
			for strings.HasPrefix(cmd, "#") {
				cmd, rest, _ = strings.Cut(rest, "\n")
			}
			input, output, ok := strings.Cut(rest, "----\n")
			if !ok {
				continue
			}
			text := input
			if cmd == "encode" {
				text = output
			}
			b, err := parseHex(text)
			if err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
			out = append(out, b)
		}
	}
	if len(out) < 20 {
		tb.Fatalf("found only %d golden frames", len(out))
	}
	return out
}

// FuzzDecode feeds Decode the first split bytes of an input, then all of
// it, and checks that the two answers agree; then it decodes every whole
// frame's body and checks that re-encoding gives the same bytes.
func FuzzDecode(f *testing.F) {
	for _, b := range goldenInputs(f) {
		f.Add(b, uint(len(b)/2), 0)
		f.Add(b, uint(7), 64)
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint, maxFrame int) {
		checkSplit(t, b, int(split%uint(len(b)+1)), maxFrame)
		for len(b) > 0 {
			fr, n, err := Decode(b, maxFrame)
			if n < 0 || n > len(b) {
				t.Fatalf("n=%d with %d bytes", n, len(b))
			}
			if err != nil || n == 0 {
				return
			}
			tf, err := decodeFrame(t, fr, 50)
			if err == nil {
				if again := encodeFrame(nil, tf); !bytes.Equal(again, b[:n]) {
					t.Fatalf("re-encoded %x\nfrom %x", again, b[:n])
				}
			} else if _, ok := err.(*Error); !ok {
				t.Fatalf("%T is not *Error", err)
			}
			b = b[n:]
		}
	})
}

// checkSplit checks that Decode on b[:k] either needs more bytes or
// answers what Decode on b answers.
func checkSplit(t *testing.T, b []byte, k, maxFrame int) {
	f, n, err := Decode(b, maxFrame)
	pf, pn, perr := Decode(b[:k], maxFrame)
	if pn > k || n > len(b) {
		t.Fatalf("n=%d for %d bytes, n=%d for %d bytes", pn, k, n, len(b))
	}
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("%T is not *Error", err)
		}
	}
	switch {
	case perr != nil:
		if perr != err {
			t.Fatalf("first %d bytes: %v; all %d: %v", k, perr, len(b), err)
		}
	case pn > 0:
		if pn != n || pf.Header != f.Header || !bytes.Equal(pf.Body, f.Body) {
			t.Fatalf("first %d bytes: frame of %d; all %d: n=%d err=%v", k, pn, len(b), n, err)
		}
	case err == nil && n > 0 && n <= k:
		t.Fatalf("first %d bytes: need more, but all %d give a frame of %d", k, len(b), n)
	}
}

// FuzzDecodePublish decodes arbitrary PUBLISH bodies: no panic, only the
// documented codes, and a successful decode iterates to exactly its bytes.
func FuzzDecodePublish(f *testing.F) {
	for _, b := range goldenInputs(f) {
		if fr, _, err := Decode(b, 0); err == nil && fr.Type == TypePublish {
			f.Add(fr.Body, 0)
			f.Add(fr.Body, 1)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, maxCount int) {
		p, err := DecodePublish(body, maxCount)
		if err != nil {
			switch CodeOf(err) {
			case CodeMalformed, CodeBadDestination, CodeBadRequest:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		b := StartPublish(nil, 0, p.Destination)
		var count uint32
		for m, raw, ok := p.Next(); ok; m, raw, ok = p.Next() {
			checkRaw(t, m, raw)
			b = append(b, raw...)
			count++
		}
		FinishPublish(b, 0, count)
		if count != p.Count || !bytes.Equal(b[HeaderSize:], body) {
			t.Fatalf("iterated %d of %d messages; rebuilt body %x\nfrom %x", count, p.Count, b[HeaderSize:], body)
		}
	})
}

// FuzzDecodeSettle decodes arbitrary TERM and PROGRESS bodies: no panic,
// only the documented codes, and a successful decode re-encodes to exactly
// its bytes.
func FuzzDecodeSettle(f *testing.F) {
	for _, b := range goldenInputs(f) {
		if fr, _, err := Decode(b, 0); err == nil && (fr.Type == TypeTerm || fr.Type == TypeProgress) {
			f.Add(fr.Body, fr.Type == TypeTerm)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, term bool) {
		var again []byte
		var err error
		if term {
			var tm Term
			if tm, err = DecodeTerm(body); err == nil {
				again = AppendTerm(nil, 0, tm.Destination, tm.Group, tm.Reason, seqsOf(tm))
			}
		} else {
			var a Ack
			if a, err = DecodeProgress(body); err == nil {
				again = AppendProgress(nil, 0, a.Destination, a.Group, seqsOf(a))
			}
		}
		if err != nil {
			switch CodeOf(err) {
			case CodeMalformed, CodeBadDestination, CodeBadGroup, CodeBadRequest:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !bytes.Equal(again[HeaderSize:], body) {
			t.Fatalf("re-encoded %x\nfrom %x", again[HeaderSize:], body)
		}
	})
}

// seqsOf returns the seqs of a decoded body.
func seqsOf(s interface {
	Len() int
	Seq(int) uint64
}) []uint64 {
	out := make([]uint64, s.Len())
	for i := range out {
		out[i] = s.Seq(i)
	}
	return out
}

// FuzzDecodeHelloOK decodes arbitrary HELLO_OK bodies with and without
// FlagLimits: no panic, only MALFORMED, and a successful decode encodes
// back to the same bytes (so no limit is lost, reordered or invented).
func FuzzDecodeHelloOK(f *testing.F) {
	for _, b := range goldenInputs(f) {
		if fr, _, err := Decode(b, 0); err == nil && fr.Type == TypeHelloOK {
			f.Add(fr.Body, fr.Flags)
			f.Add(fr.Body, fr.Flags^FlagLimits)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, flags uint16) {
		h, err := DecodeHelloOKFlags(body, flags)
		if err != nil {
			if CodeOf(err) != CodeMalformed {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if (h.Limits != nil) != (flags&FlagLimits != 0) {
			t.Fatalf("flags %#x but limits %v", flags, h.Limits)
		}
		again := AppendHelloOK(nil, 0, h)
		if !bytes.Equal(again[HeaderSize:], body) {
			t.Fatalf("re-encoded %x\nfrom %x", again[HeaderSize:], body)
		}
	})
}
