package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/seal/keyfile"
)

// newKeyFile generates a keyring file and returns its path and keyring.
func newKeyFile(t *testing.T) (string, *seal.Keyring) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.yaml")
	require.NoError(t, keyfile.Generate(path))
	kr, _, err := keyfile.Read(path)
	require.NoError(t, err)
	return path, kr
}

// publishSealed stores msgs in dest sealed with kr.
func publishSealed(t *testing.T, s *clienttest.Server, kr *seal.Keyring, dest string, msgs ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addr: s.Addr(), Keyring: kr})
	require.NoError(t, err)
	defer c.Close()
	for _, m := range msgs {
		_, err = c.Publish(ctx, dest, []byte(m))
		require.NoError(t, err)
	}
}

func TestArgsKeyFile(t *testing.T) {
	f, _, err := parse(t, "-d", "q", "--key-file", "k.yaml")
	require.NoError(t, err)
	require.Equal(t, "k.yaml", f.KeyFile)
	_, help, err := parse(t, "--help")
	require.NoError(t, err)
	require.Contains(t, help, "--key-file=FILE")
}

// TestRunSealed: sealed payloads are printed in plaintext and acked; a
// tampered one is reported on stderr with its seq and reason, not printed
// and not acked, and the exit code says so.
func TestRunSealed(t *testing.T) {
	path, kr := newKeyFile(t)
	s := startServer(t, clienttest.Options{Record: true})
	publishSealed(t, s, kr, "q", "one", "two", "three")
	require.True(t, s.Update("q", 2, func(m *frame.Message) { m.Payload[len(m.Payload)-1] ^= 1 }))

	code, out, stderr := runArgs(t, context.Background(), s, "-d", "q", "--timeout", "50ms", "--key-file", path, "--json")
	require.Equal(t, 1, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"key_id":1,"payload":"one"`)
	require.Contains(t, lines[1], `"seq":3,`)
	require.Contains(t, lines[1], `"payload":"three"`)
	require.Contains(t, stderr, "consumer-client: seq 2 (attempt 1) withheld, not acknowledged: "+
		"swarmmq: cannot open message seq 2 of q (key id 1): message authentication failed\n")
	require.Contains(t, stderr, "consumer-client: 1 deliveries withheld (not acknowledged)\n")
	require.Equal(t, []uint64{1, 3}, acked(t, s))
}

// TestRunCountWithheld: --count counts withheld deliveries too, so a
// message that cannot be opened does not keep a consumer without
// --timeout waiting (the fake node never delivers it again).
func TestRunCountWithheld(t *testing.T) {
	path, kr := newKeyFile(t)
	s := startServer(t, clienttest.Options{Record: true})
	publishSealed(t, s, kr, "q", "one", "two", "three", "four")
	require.True(t, s.Update("q", 2, func(m *frame.Message) { m.Payload[len(m.Payload)-1] ^= 1 }))

	code, out, stderr := runArgs(t, context.Background(), s, "-d", "q", "--count", "3", "--key-file", path)
	require.Equal(t, 1, code, stderr)
	require.Equal(t, "one\nthree\n", out)
	require.Contains(t, stderr, "consumer-client: seq 2 (attempt 1) withheld")
	require.Contains(t, stderr, "consumer-client: printed 2, withheld 1, ")
	require.Equal(t, []uint64{1, 3}, acked(t, s))
}

// TestRunSealedWithoutKeyFile: a consumer without --key-file that meets
// a sealed message stops with an error naming it, and gives its batch
// back without counting the attempts (NACK with the release flag); it
// prints and acks nothing, so no message is dead-lettered on its account.
func TestRunSealedWithoutKeyFile(t *testing.T) {
	_, kr := newKeyFile(t)
	s := startServer(t, clienttest.Options{Record: true})
	publish(t, s, "q", "plain")
	publishSealed(t, s, kr, "q", "sealed")
	code, out, stderr := runArgs(t, context.Background(), s, "-d", "q", "--timeout", "50ms")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, stderr, "consumer-client: swarmmq: message seq 2 of q is sealed with key id 1, "+
		"and this consumer has no keyring; 2 deliveries given back, their attempts not counted\n")
	require.Empty(t, acked(t, s))
	requireReleased(t, s, 1, 2)
}

// TestRunWrongKeyFile: a consumer whose keyring lacks the messages' key
// stops at once with an error naming the seq, the destination and the key
// id, and releases the batch, however often it is run.
func TestRunWrongKeyFile(t *testing.T) {
	_, kr := newKeyFile(t)
	wrong, _ := newKeyFile(t) // also key id 1, other key material: authentication fails
	s := startServer(t, clienttest.Options{Record: true})
	publishSealed(t, s, kr, "q", "one")
	code, _, stderr := runArgs(t, context.Background(), s, "-d", "q", "--timeout", "50ms", "--key-file", wrong)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "withheld", "same key id, wrong key: a fault of the message as far as anyone can tell")

	other := filepath.Join(t.TempDir(), "other.yaml")
	require.NoError(t, os.WriteFile(other, []byte("current: 7\nkeys:\n  - id: 7\n    key: hex:"+strings.Repeat("ab", 32)+"\n"), 0o600))
	// Another group: the fake node does not redeliver after an ack timeout.
	code, out, stderr := runArgs(t, context.Background(), s, "-d", "q", "--group", "g2", "--timeout", "50ms", "--key-file", other)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, stderr, "consumer-client: swarmmq: message seq 1 of q is sealed with key id 1, "+
		"which this consumer's keyring does not have; 1 deliveries given back, their attempts not counted\n")
	requireReleased(t, s, 1)
}

// requireReleased checks that the last NACK recorded has the release flag
// and gives back seqs.
func requireReleased(t *testing.T, s *clienttest.Server, seqs ...uint64) {
	t.Helper()
	var last *clienttest.Frame
	for _, f := range s.Frames() {
		if f.Type == frame.TypeNack {
			last = &f
		}
	}
	require.NotNil(t, last, "no NACK sent")
	require.True(t, frame.Released(last.Header))
	n, err := frame.DecodeNack(last.Body)
	require.NoError(t, err)
	var got []uint64
	for i := range n.Len() {
		got = append(got, n.Seq(i))
	}
	require.Equal(t, seqs, got)
}

func TestRunKeyFileProblems(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	path, kr := newKeyFile(t)
	publishSealed(t, s, kr, "q", "x")
	require.NoError(t, os.Chmod(path, 0o640))
	code, out, stderr := runArgs(t, context.Background(), s, "-d", "q", "--timeout", "50ms", "--key-file", path)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "x\n", out)
	require.Contains(t, stderr, "consumer-client: warning: keyring "+path+" has mode 0640, wider than 0600")

	code, _, stderr = runArgs(t, context.Background(), s, "-d", "q", "--key-file", filepath.Join(t.TempDir(), "none"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "consumer-client: cannot open keyring:")
}
