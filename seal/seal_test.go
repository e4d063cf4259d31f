package seal

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	kr := testKeyring(t, 7)
	s := testSealer(t, kr)
	require.Equal(t, uint32(7), s.KeyID())
	h := testHeader(7)
	for _, size := range []int{0, 1, 15, 16, 17, 128, 1024, 64 << 10} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			pt := bytes.Repeat([]byte{'x'}, size)
			prefix := []byte("keep")
			sealed, err := s.Seal(bytes.Clone(prefix), h, pt)
			require.NoError(t, err)
			require.Len(t, sealed, len(prefix)+size+Overhead)
			require.Equal(t, prefix, sealed[:len(prefix)], "Seal appends")
			sealed = sealed[len(prefix):]
			if size >= 16 {
				require.NotContains(t, string(sealed), strings.Repeat("x", 16), "the payload is encrypted")
			}

			got, err := kr.Open([]byte("dst:"), h, sealed)
			require.NoError(t, err)
			require.Equal(t, append([]byte("dst:"), pt...), got, "Open appends")

			scratch, err := kr.Verify(nil, h, sealed)
			require.NoError(t, err)
			require.Empty(t, scratch)
			require.Equal(t, make([]byte, size), scratch[:size], "Verify wipes the plaintext")
		})
	}
}

func TestSealDistinctNonces(t *testing.T) {
	kr := testKeyring(t, 1)
	s := testSealer(t, kr)
	h := testHeader(1)
	a, err := s.Seal(nil, h, []byte("same"))
	require.NoError(t, err)
	b, err := s.Seal(nil, h, []byte("same"))
	require.NoError(t, err)
	require.NotEqual(t, a[:NonceSize], b[:NonceSize])
	require.NotEqual(t, a, b, "the same message sealed twice gives different bytes")
}

// TestTamper flips each bit of a sealed payload, and truncates and extends
// it: every change fails with ErrAuth and yields no plaintext.
func TestTamper(t *testing.T) {
	kr := testKeyring(t, 1)
	s := testSealer(t, kr)
	h := testHeader(1)
	sealed, err := s.Seal(nil, h, []byte("Hello SwarmMQ, sealed"))
	require.NoError(t, err)
	for i := range sealed {
		for bit := range 8 {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1 << bit
			what := "ciphertext"
			switch {
			case i < NonceSize:
				what = "nonce"
			case i >= len(sealed)-TagSize:
				what = "tag"
			}
			out, err := kr.Open(nil, h, bad)
			require.ErrorIs(t, err, ErrAuth, "%s byte %d bit %d", what, i, bit)
			require.Nil(t, out)
			_, err = kr.Verify(nil, h, bad)
			require.ErrorIs(t, err, ErrAuth)
		}
	}
	for n := range len(sealed) {
		_, err := kr.Open(nil, h, sealed[:n])
		require.ErrorIs(t, err, ErrAuth, "truncated to %d bytes", n)
	}
	_, err = kr.Open(nil, h, append(bytes.Clone(sealed), 0))
	require.ErrorIs(t, err, ErrAuth, "extended")
}

// TestHeaderBound changes each header field: the payload does not open.
func TestHeaderBound(t *testing.T) {
	kr := testKeyring(t, 1, 2)
	s := testSealer(t, kr)
	h := testHeader(2)
	sealed, err := s.Seal(nil, h, []byte("payload"))
	require.NoError(t, err)
	for name, mod := range map[string]func(*Header){
		"id":                  func(h *Header) { h.ID[15]++ },
		"id first byte":       func(h *Header) { h.ID[0]++ },
		"destination":         func(h *Header) { h.Destination = []byte("test-queuf") },
		"destination longer":  func(h *Header) { h.Destination = []byte("test-queue2") },
		"destination shorter": func(h *Header) { h.Destination = []byte("test-queu") },
		"destination empty":   func(h *Header) { h.Destination = nil },
		"destination dlq":     func(h *Header) { h.Destination = []byte("test-queue.dlq") },
		"producer":            func(h *Header) { h.Producer++ },
		"timestamp":           func(h *Header) { h.Timestamp++ },
		"timestamp negative":  func(h *Header) { h.Timestamp = -h.Timestamp },
		"key id (known)":      func(h *Header) { h.KeyID = 1 },
	} {
		bad := h
		mod(&bad)
		_, err := kr.Open(nil, bad, sealed)
		require.ErrorIs(t, err, ErrAuth, name)
		_, err = kr.Verify(nil, bad, sealed)
		require.ErrorIs(t, err, ErrAuth, name)
	}
	// Moving bytes between the destination and the fields around it
	// cannot produce the same additional data: the length is bound.
	a := appendAAD(nil, &Header{Destination: []byte("ab")})
	b := appendAAD(nil, &Header{Destination: []byte("a"), Producer: uint64('b') << 56})
	require.NotEqual(t, a, b)
	require.Len(t, a, AADSize+2)
}

func TestWrongKeyMaterial(t *testing.T) {
	// The same id with another secret (say, a keyring edited on one side
	// only) fails authentication rather than yielding garbage.
	kr := testKeyring(t, 1)
	other := testKey(9)
	other.ID = 1
	kr2, err := NewKeyring(1, other)
	require.NoError(t, err)
	sealed, err := testSealer(t, kr).Seal(nil, testHeader(1), []byte("secret"))
	require.NoError(t, err)
	_, err = kr2.Open(nil, testHeader(1), sealed)
	require.ErrorIs(t, err, ErrAuth)
}

func TestUnknownKey(t *testing.T) {
	kr := testKeyring(t, 1, 3)
	sealed, err := testSealer(t, kr).Seal(nil, testHeader(3), []byte("x"))
	require.NoError(t, err)
	for _, id := range []uint32{0, 2, 4, math.MaxUint32} {
		h := testHeader(id)
		_, err := kr.Open(nil, h, sealed)
		require.ErrorIs(t, err, ErrUnknownKey, "id %d", id)
		_, err = kr.Verify(nil, h, sealed)
		require.ErrorIs(t, err, ErrUnknownKey)
		_, _, err = kr.OpenDelivery(nil, h, sealed)
		require.ErrorIs(t, err, ErrUnknownKey)
	}
	_, err = testKeyring(t, 1).Open(nil, testHeader(3), sealed)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestSealErrors(t *testing.T) {
	kr := testKeyring(t, 1)
	s := testSealer(t, kr)
	h := testHeader(2)
	out, err := s.Seal([]byte("x"), h, nil)
	require.ErrorIs(t, err, ErrKeyMismatch)
	require.Equal(t, []byte("x"), out)

	h = testHeader(1)
	h.Destination = make([]byte, MaxDestination+1)
	_, err = s.Seal(nil, h, nil)
	require.ErrorIs(t, err, ErrTooLong)
	h.Destination = h.Destination[:MaxDestination]
	sealed, err := s.Seal(nil, h, []byte("longest name"))
	require.NoError(t, err)
	pt, err := kr.Open(nil, h, sealed)
	require.NoError(t, err)
	require.Equal(t, "longest name", string(pt))
	h.Destination = make([]byte, MaxDestination+1)
	_, err = kr.Open(nil, h, sealed)
	require.ErrorIs(t, err, ErrAuth)
}

// TestRotation: a keyring with a new current key seals with it, and still
// opens what the old key sealed.
func TestRotation(t *testing.T) {
	old := testKeyring(t, 1)
	oldSealed, err := testSealer(t, old).Seal(nil, testHeader(1), []byte("before"))
	require.NoError(t, err)

	rotated := testKeyring(t, 1, 2)
	require.Equal(t, uint32(2), rotated.Current())
	s := testSealer(t, rotated)
	require.Equal(t, uint32(2), s.KeyID())
	_, err = s.Seal(nil, testHeader(1), []byte("after"))
	require.ErrorIs(t, err, ErrKeyMismatch, "new messages use the new key")
	newSealed, err := s.Seal(nil, testHeader(2), []byte("after"))
	require.NoError(t, err)

	pt, err := rotated.Open(nil, testHeader(1), oldSealed)
	require.NoError(t, err)
	require.Equal(t, "before", string(pt))
	pt, err = rotated.Open(nil, testHeader(2), newSealed)
	require.NoError(t, err)
	require.Equal(t, "after", string(pt))
	_, err = old.Open(nil, testHeader(2), newSealed)
	require.ErrorIs(t, err, ErrUnknownKey, "a consumer without the new key")
}

func TestOpenDelivery(t *testing.T) {
	kr := testKeyring(t, 1)
	s := testSealer(t, kr)
	seal := func(dest string) []byte {
		h := testHeader(1)
		h.Destination = []byte(dest)
		b, err := s.Seal(nil, h, []byte("to "+dest))
		require.NoError(t, err)
		return b
	}
	f := func(sealedFor, deliveredFrom, wantOrigin string, wantErr error) {
		t.Helper()
		h := testHeader(1)
		h.Destination = []byte(deliveredFrom)
		pt, origin, err := kr.OpenDelivery([]byte("p:"), h, seal(sealedFor))
		if wantErr != nil {
			require.ErrorIs(t, err, wantErr)
			require.Nil(t, pt)
			require.Nil(t, origin)
			return
		}
		require.NoError(t, err)
		require.Equal(t, "p:to "+sealedFor, string(pt))
		require.Equal(t, wantOrigin, string(origin))
	}
	f("q", "q", "q", nil)
	f("q", "q.dlq", "q", nil)             // dead-lettered
	f("q.dlq", "q.dlq", "q.dlq", nil)     // published straight to the dlq
	f("q", "q.dlq.dlq", "q", nil)         // dead-lettered twice
	f("q.dlq", "q.dlq.dlq", "q.dlq", nil) // published to the dlq, then dead-lettered
	f("q", "other.dlq", "", ErrAuth)
	f("q.dlq", "q", "", ErrAuth) // no move the other way
	f("q", ".dlq", "", ErrAuth)
	f("", ".dlq", "", nil) // not a valid name on the wire, but consistent
	f("q", "p", "", ErrAuth)
}

// TestNonceWrap: after 2^32 nonces an epoch is replaced by one with a new
// prefix from the random source.
func TestNonceWrap(t *testing.T) {
	src := &countingReader{}
	s, err := NewSealer(testKeyring(t, 1), src)
	require.NoError(t, err)
	first := s.ep.Load()
	first.used.Store(math.MaxUint32 - 1)
	var n1, n2, n3 [NonceSize]byte
	require.NoError(t, s.nonce(n1[:]))
	require.NoError(t, s.nonce(n2[:]))
	require.NoError(t, s.nonce(n3[:]))
	require.Equal(t, first.start+math.MaxUint32-1, beUint32(n1[8:]))
	require.Equal(t, first.start+math.MaxUint32, beUint32(n2[8:]), "the last nonce of the epoch")
	require.Equal(t, n1[:8], n2[:8])
	second := s.ep.Load()
	require.NotSame(t, first, second)
	require.NotEqual(t, n2[:8], n3[:8], "a new prefix")
	require.Equal(t, second.start, beUint32(n3[8:]))
	require.Equal(t, 2, src.reads)

	src.fail = true
	second.used.Store(math.MaxUint32 + 1)
	_, err = s.Seal(nil, testHeader(1), nil)
	require.ErrorContains(t, err, "cannot read a random nonce prefix")
}

// TestNonceWrapConcurrent crosses an epoch boundary from many goroutines:
// no nonce repeats and exactly one new epoch is installed per wrap.
func TestNonceWrapConcurrent(t *testing.T) {
	s := testSealer(t, testKeyring(t, 1))
	s.ep.Load().used.Store(math.MaxUint32 - 500)
	const goroutines, each = 8, 200
	nonces := make([][][NonceSize]byte, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				var n [NonceSize]byte
				if err := s.nonce(n[:]); err != nil {
					t.Error(err)
					return
				}
				nonces[g] = append(nonces[g], n)
			}
		})
	}
	wg.Wait()
	seen := map[[NonceSize]byte]bool{}
	prefixes := map[string]bool{}
	for _, ns := range nonces {
		for _, n := range ns {
			require.False(t, seen[n], "nonce %x repeated", n)
			seen[n] = true
			prefixes[string(n[:8])] = true
		}
	}
	require.Len(t, seen, goroutines*each)
	require.Len(t, prefixes, 2)
}

// TestNonceUniqueness is the property behind the nonce scheme: many
// Sealers under one key (producers, restarts), each sealing many messages
// concurrently, never produce the same nonce.
func TestNonceUniqueness(t *testing.T) {
	kr := testKeyring(t, 1)
	sealers, perSealer, goroutines := 64, 2000, 4
	if testing.Short() {
		sealers = 16
	}
	var mu sync.Mutex
	seen := make(map[[NonceSize]byte]struct{}, sealers*perSealer)
	for range sealers {
		s := testSealer(t, kr)
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				local := make([][NonceSize]byte, 0, perSealer/goroutines)
				buf := make([]byte, 0, 128)
				for range perSealer / goroutines {
					out, err := s.Seal(buf[:0], testHeader(1), []byte("m"))
					if err != nil {
						t.Error(err)
						return
					}
					local = append(local, [NonceSize]byte(out[:NonceSize]))
				}
				mu.Lock()
				defer mu.Unlock()
				for _, n := range local {
					if _, dup := seen[n]; dup {
						t.Errorf("nonce %x repeated", n)
					}
					seen[n] = struct{}{}
				}
			})
		}
		wg.Wait()
	}
	require.Len(t, seen, sealers*perSealer)
}

func TestZeroAllocs(t *testing.T) {
	kr := testKeyring(t, 1, 2)
	s := testSealer(t, kr)
	h := testHeader(2)
	pt := make([]byte, 128)
	buf := make([]byte, 0, 1024)
	sealed, err := s.Seal(nil, h, pt)
	require.NoError(t, err)
	scratch := make([]byte, 0, 1024)
	bad := bytes.Clone(sealed)
	bad[20]++
	for name, fn := range map[string]func(){
		"seal": func() { buf, _ = s.Seal(buf[:0], h, pt) },
		"open": func() { buf, _ = kr.Open(buf[:0], h, sealed) },
		"verify": func() {
			if scratch, err = kr.Verify(scratch, h, sealed); err != nil {
				panic(err)
			}
		},
		"verify tampered": func() { scratch, _ = kr.Verify(scratch, h, bad) },
		"verify unknown":  func() { scratch, _ = kr.Verify(scratch, testHeader(5), sealed) },
		"open delivery": func() {
			dh := h
			dh.Destination = []byte("test-queue.dlq")
			buf, _, _ = kr.OpenDelivery(buf[:0], dh, sealed)
		},
	} {
		require.Zero(t, testing.AllocsPerRun(100, fn), name)
	}
}

func TestVerifyGrowsScratch(t *testing.T) {
	kr := testKeyring(t, 1)
	s := testSealer(t, kr)
	sealed, err := s.Seal(nil, testHeader(1), make([]byte, 4096))
	require.NoError(t, err)
	scratch, err := kr.Verify(make([]byte, 3, 8), testHeader(1), sealed)
	require.NoError(t, err)
	require.Empty(t, scratch)
	require.GreaterOrEqual(t, cap(scratch), 4096)
	bad := bytes.Clone(sealed)
	bad[0]++
	again, err := kr.Verify(scratch, testHeader(1), bad)
	require.ErrorIs(t, err, ErrAuth)
	require.Equal(t, cap(scratch), cap(again), "the scratch comes back on failure too")
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrAuth, ErrUnknownKey, ErrInvalidKeyring, ErrTooLong, ErrKeyMismatch}
	for i, a := range all {
		require.True(t, strings.HasPrefix(a.Error(), "swarmmq/seal: "), a.Error())
		for j, b := range all {
			require.Equal(t, i == j, errors.Is(a, b))
		}
	}
}

// countingReader yields distinct bytes and counts its reads; it fails
// when fail is set.
type countingReader struct {
	reads int
	next  byte
	fail  bool
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.fail {
		return 0, errors.New("no entropy")
	}
	r.reads++
	for i := range p {
		r.next++
		p[i] = r.next
	}
	return len(p), nil
}

func beUint32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
