package seal

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// parseInputs returns the keyring files of testdata/parse.
func parseInputs(tb testing.TB) [][]byte {
	data, err := os.ReadFile("testdata/parse")
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for block := range strings.SplitSeq(string(data), "\nparse\n") {
		if input, _, ok := strings.Cut(block, "----\n"); ok {
			out = append(out, []byte(input))
		}
	}
	if len(out) < 15 {
		tb.Fatalf("found only %d keyring files", len(out))
	}
	return out
}

// FuzzParseKeyring checks that ParseKeyring never panics, that every
// error is marked ErrInvalidKeyring, and that a keyring it accepts
// survives AppendFile and seals and opens.
func FuzzParseKeyring(f *testing.F) {
	for _, b := range parseInputs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kr, err := ParseKeyring(b)
		if err != nil {
			if kr != nil {
				t.Fatal("a keyring with an error")
			}
			if !errors.Is(err, ErrInvalidKeyring) {
				t.Fatalf("error not marked: %v", err)
			}
			return
		}
		again, err := ParseKeyring(kr.AppendFile(nil))
		if err != nil || again.String() != kr.String() {
			t.Fatalf("canonical form does not parse back: %v", err)
		}
		s, err := NewSealer(kr, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := testHeader(kr.Current())
		sealed, err := s.Seal(nil, h, b)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := again.Open(nil, h, sealed)
		if err != nil || !bytes.Equal(pt, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzOpen feeds Open arbitrary sealed bytes and headers: it never panics
// and never accepts anything but what the Sealer produced for that header.
func FuzzOpen(f *testing.F) {
	kr := testKeyring(f, 1, 2)
	s := testSealer(f, kr)
	for _, size := range []int{0, 1, 16, 100} {
		sealed, err := s.Seal(nil, testHeader(2), make([]byte, size))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, []byte("test-queue"), uint32(2), uint64(42))
		f.Add(sealed, []byte("test-queue.dlq"), uint32(2), uint64(42))
		f.Add(sealed[:len(sealed)-1], []byte("test-queue"), uint32(1), uint64(42))
	}
	f.Fuzz(func(t *testing.T, sealed, dest []byte, keyID uint32, producer uint64) {
		h := testHeader(keyID)
		h.Destination, h.Producer = dest, producer
		pt, err := kr.Open(nil, h, sealed)
		_, _, derr := kr.OpenDelivery(nil, h, sealed)
		_, verr := kr.Verify(nil, h, sealed)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Open %v, Verify %v", err, verr)
		}
		if err == nil && derr != nil {
			t.Fatalf("Open succeeds, OpenDelivery %v", derr)
		}
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext with an error")
			}
			if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Only an untouched seed can open: same header as sealed.
		if keyID != 2 || producer != 42 || string(dest) != "test-queue" || len(pt) != len(sealed)-Overhead {
			t.Fatalf("opened a payload for another header: %+v", h)
		}
	})
}
