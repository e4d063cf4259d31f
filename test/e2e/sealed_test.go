package e2e

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/seal/keyfile"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// sealedMsg seals payload for dest with the header fields (and header
// block) of m.
func sealedMsg(t *testing.T, s *seal.Sealer, m frame.Message, dest string) frame.Message {
	t.Helper()
	m.KeyID = s.KeyID()
	out, err := s.Seal(nil, seal.Header{ID: m.ID, Destination: []byte(dest), Producer: m.Producer,
		Timestamp: m.Timestamp, KeyID: m.KeyID, Headers: m.Headers}, m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	m.Payload = out
	return m
}

func testKeyring(t *testing.T) *seal.Keyring {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.yaml")
	if err := keyfile.Generate(path); err != nil {
		t.Fatal(err)
	}
	kr, warnings, err := keyfile.Read(path)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%v %v", warnings, err)
	}
	return kr
}

// TestSealed: a node with a keyring stores only messages that
// authenticate, refuses unsealed, tampered, foreign-key and replayed ones
// with their codes, and keeps ciphertext at rest.
func TestSealed(t *testing.T) {
	kr := testKeyring(t)
	dir := t.TempDir()
	n := nodetest.Start(t, func(o *stages.Options) {
		o.Keyring = kr
		o.DataDir = dir
	})
	s, err := seal.NewSealer(kr, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "top-secret-plaintext-4711"
	r := nodetest.Handshake(t, n.AddrString())

	good := sealedMsg(t, s, msg(1, secret), "vault")
	tampered := sealedMsg(t, s, msg(2, secret), "vault")
	tampered.Payload = bytes.Clone(tampered.Payload)
	tampered.Payload[len(tampered.Payload)-1] ^= 1
	replayed := good // same sealed bytes under a new id: the AAD binds the id
	replayed.ID[15] ^= 0xff
	moved := sealedMsg(t, s, msg(3, secret), "elsewhere") // sealed for another destination
	foreign := sealedMsg(t, mustSealer(t, testKeyring(t)), msg(4, secret), "vault")
	unsealed := msg(5, secret)

	acks := publishRaw(t, r, "vault", good, tampered, replayed, moved, foreign, unsealed)
	want := []frame.Code{frame.CodeOK, frame.CodeAuthFailed, frame.CodeAuthFailed, frame.CodeAuthFailed,
		frame.CodeAuthFailed, frame.CodeAuthFailed}
	for i, a := range acks {
		if a.Code != want[i] {
			t.Errorf("message %d answered %s, want %s", i, a.Code, want[i])
		}
	}
	// The foreign keyring's key id is 1 as well; a key id the node does
	// not have is UNKNOWN_KEY.
	unknown := sealedMsg(t, s, msg(6, secret), "vault")
	unknown.KeyID = 999
	if a := publishRaw(t, r, "vault", unknown); a[0].Code != frame.CodeUnknownKey {
		t.Errorf("unknown key id answered %s", a[0].Code)
	}
	if got := fetchRaw(t, r, "vault", "g", 10); len(got) != 1 {
		t.Fatalf("stored %d messages, want only the good one", len(got))
	}
	n.Stop() // flush everything to disk before grepping it
	assertNotOnDisk(t, dir, secret)
	n.Restart()
}

func mustSealer(t *testing.T, kr *seal.Keyring) *seal.Sealer {
	t.Helper()
	s, err := seal.NewSealer(kr, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertNotOnDisk fails if any file under dir contains plaintext.
func assertNotOnDisk(t *testing.T, dir, plaintext string) {
	t.Helper()
	if where := onDisk(t, dir, plaintext); where != "" {
		t.Errorf("plaintext found at rest in %s", where)
	}
}

// onDisk returns a file under dir that contains s, or "".
func onDisk(t *testing.T, dir, s string) string {
	t.Helper()
	files, found := 0, ""
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(s)) {
			found = path
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk %s: %d files, %v", dir, files, err)
	}
	return found
}

// TestUnsealedModeRefusesSealed: without a keyring the node cannot check a
// sealed message, so it refuses it rather than store it unverified.
// Its data at rest is plaintext, which also shows the grep of TestSealed
// would find a stored plaintext.
func TestUnsealedModeRefusesSealed(t *testing.T) {
	dir := t.TempDir()
	n := nodetest.Start(t, func(o *stages.Options) { o.DataDir = dir })
	r := nodetest.Handshake(t, n.AddrString())
	m := sealedMsg(t, mustSealer(t, testKeyring(t)), msg(1, "x"), "q")
	const plain = "plain-control-0815"
	if a := publishRaw(t, r, "q", m, msg(2, plain)); a[0].Code != frame.CodeUnknownKey || a[1].Code != frame.CodeOK {
		t.Fatalf("answered %+v", a)
	}
	n.Stop()
	if onDisk(t, dir, plain) == "" {
		t.Fatal("an unsealed payload is not found at rest: the at-rest grep cannot see stored data")
	}
	n.Restart()
}
