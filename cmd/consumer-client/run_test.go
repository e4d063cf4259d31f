package main

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

func startServer(t *testing.T, opts clienttest.Options) *clienttest.Server {
	t.Helper()
	s, err := clienttest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// publish stores msgs in dest through a real client.
func publish(t *testing.T, s *clienttest.Server, dest string, msgs ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addr: s.Addr()})
	require.NoError(t, err)
	defer c.Close()
	payloads := make([][]byte, len(msgs))
	for i, m := range msgs {
		payloads[i] = []byte(m)
	}
	_, err = c.Publish(ctx, dest, payloads...)
	require.NoError(t, err)
}

// runArgs parses args like main and runs them against s.
func runArgs(t *testing.T, ctx context.Context, s *clienttest.Server, args ...string) (int, string, string) {
	t.Helper()
	f, _, err := parse(t, append([]string{"--node", s.Addr()}, args...)...)
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := run(ctx, f, bufio.NewWriter(&stdout), &stderr, false)
	return code, stdout.String(), stderr.String()
}

func acked(t *testing.T, s *clienttest.Server) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, f := range s.Frames() {
		if f.Type != frame.TypeAck {
			continue
		}
		a, err := frame.DecodeAck(f.Body)
		require.NoError(t, err)
		for i := range a.Len() {
			seqs = append(seqs, a.Seq(i))
		}
	}
	return seqs
}

func TestRunCountThenIdle(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	publish(t, s, "test-queue", "a", "b", "c", "d", "e")

	code, out, stderr := runArgs(t, context.Background(), s, "--destination", "test-queue", "--count", "3", "--batch", "2")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "a\nb\nc\n", out)
	require.Equal(t, []uint64{1, 2, 3}, acked(t, s))
	require.Regexp(t, `^consumer-client: printed 3, withheld 0, \d+ msg/s, elapsed \S+\n$`, stderr)

	// The rest, then stop after 50ms of nothing.
	code, out, stderr = runArgs(t, context.Background(), s, "-d", "test-queue", "--timeout", "50ms", "--json")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"seq":4,"attempt":1,`)
	require.Contains(t, lines[1], `"payload":"e"`)
	require.Equal(t, []uint64{1, 2, 3, 4, 5}, acked(t, s))
}

func TestRunFollowStopsOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The second FETCH comes after the first batch was printed and acked:
	// "interrupt" then, as SIGINT would.
	fetches := 0
	s := startServer(t, clienttest.Options{Record: true, Intercept: func(_ *clienttest.Conn, f clienttest.Frame) bool {
		if f.Type == frame.TypeFetch {
			if fetches++; fetches == 2 {
				cancel()
			}
		}
		return false
	}})
	publish(t, s, "q", "x", "y")
	code, out, stderr := runArgs(t, ctx, s, "-d", "q", "--follow")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "x\ny\n", out)
	require.Equal(t, []uint64{1, 2}, acked(t, s))
}

func TestRunErrors(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	code, _, stderr := runArgs(t, context.Background(), s, "-d", "bad name")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "consumer-client: swarmmq: fetch from bad name for group default: BAD_DESTINATION")

	// Port 1: privileged, nothing listens there, and unlike a port just
	// closed no other test can take it meanwhile.
	const addr = "127.0.0.1:1"
	f, _, err := parse(t, "--node", addr, "-d", "q")
	require.NoError(t, err)
	var stderrBuf bytes.Buffer
	require.Equal(t, 1, run(context.Background(), f, bufio.NewWriter(&bytes.Buffer{}), &stderrBuf, false))
	require.Contains(t, stderrBuf.String(), "consumer-client: swarmmq: dial "+addr)
}
