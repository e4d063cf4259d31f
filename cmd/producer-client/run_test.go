package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// runArgs parses args like main and runs them against s.
func runArgs(t *testing.T, s *clienttest.Server, stdin string, args ...string) (int, string) {
	t.Helper()
	f, _, err := parse(t, append([]string{"--node", s.Addr()}, args...)...)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, f, env{stdin: strings.NewReader(stdin), stderr: &stderr})
	return code, stderr.String()
}

func payloads(s *clienttest.Server, dest string) []string {
	var out []string
	for _, m := range s.Messages(dest) {
		out = append(out, string(m.Payload))
	}
	return out
}

func TestRunMessage(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	code, stderr := runArgs(t, s, "", "--destination", "test-queue", "--message", "Hello SwarmMQ")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `^sent 1, acked 1, duplicates 0, failed 0, \d+ msg/s, elapsed \S+\n$`, stderr)
	require.Equal(t, []string{"Hello SwarmMQ"}, payloads(s, "test-queue"))
}

func TestRunCount(t *testing.T) {
	for _, window := range []string{"1", "1000"} {
		t.Run("window="+window, func(t *testing.T) {
			s := startServer(t, clienttest.Options{})
			code, stderr := runArgs(t, s, "", "-d", "q", "-m", "m", "--count", "500", "--window", window, "--progress")
			require.Equal(t, 0, code, stderr)
			require.Contains(t, stderr, "sent 500, acked 500, duplicates 0, failed 0")
			got := payloads(s, "q")
			require.Len(t, got, 500)
			require.Equal(t, "m-1", got[0])
			require.Equal(t, "m-500", got[499])
		})
	}
}

func TestRunStdin(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	code, stderr := runArgs(t, s, "one\ntwo\nthree\n", "-d", "q", "--stdin")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, []string{"one", "two", "three"}, payloads(s, "q"))
}

func TestRunFailures(t *testing.T) {
	s := startServer(t, clienttest.Options{Reject: func(_ string, m frame.Message) frame.Code {
		if strings.HasSuffix(string(m.Payload), "0") {
			return frame.CodeDestinationFull
		}
		return frame.CodeOK
	}})
	code, stderr := runArgs(t, s, "", "-d", "q", "-m", "m", "--count", "25")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "sent 25, acked 23, duplicates 0, failed 2")
	require.Contains(t, stderr, "producer-client: 2 of 25 messages not acknowledged\n")
	require.Contains(t, stderr, "producer-client: 2× swarmmq: publish to q: DESTINATION_FULL\n")
}

func TestRunTooLarge(t *testing.T) {
	s := startServer(t, clienttest.Options{MaxFrame: 4096})
	code, stderr := runArgs(t, s, fmt.Sprintf("small\n%s\nsmall\n", strings.Repeat("x", 4050)), "-d", "q", "--stdin")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "sent 3, acked 2, duplicates 0, failed 1")
	require.Contains(t, stderr, "TOO_LARGE")
}

func TestRunNoServer(t *testing.T) {
	// Port 1: privileged, nothing listens there, and unlike a port just
	// closed no other test can take it meanwhile.
	const addr = "127.0.0.1:1"
	f, _, err := parse(t, "--node", addr, "-d", "q", "-m", "x")
	require.NoError(t, err)
	var stderr bytes.Buffer
	require.Equal(t, 1, run(context.Background(), f, env{stdin: strings.NewReader(""), stderr: &stderr}))
	require.Contains(t, stderr.String(), "producer-client: swarmmq: dial "+addr)
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first PUBLISH "interrupts" the run, as SIGINT would.
	s := startServer(t, clienttest.Options{Intercept: func(_ *clienttest.Conn, f clienttest.Frame) bool {
		if f.Type == frame.TypePublish {
			cancel()
		}
		return false
	}})
	f, _, err := parse(t, "--node", s.Addr(), "-d", "q", "--count", "1000000", "--rate", "100000")
	require.NoError(t, err)
	var stderr bytes.Buffer
	code := run(ctx, f, env{stdin: strings.NewReader(""), stderr: &stderr})
	require.Equal(t, 0, code, "everything sent was acked: %s", stderr.String())
	var sent, acked int
	_, err = fmt.Sscanf(stderr.String(), "sent %d, acked %d,", &sent, &acked)
	require.NoError(t, err)
	require.Equal(t, sent, acked)
	require.Less(t, sent, 1000000)
	require.Len(t, s.Messages("q"), sent)
}

// TestRunApplicationIDs: the same command run twice with --id stores each
// message once; the second run reports them as duplicates.
func TestRunApplicationIDs(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	code, stderr := runArgs(t, s, "", "-d", "q", "-m", "order", "--count", "3", "--id", "batch-7")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "sent 3, acked 3, duplicates 0, failed 0")
	code, stderr = runArgs(t, s, "", "-d", "q", "-m", "order", "--count", "3", "--id", "batch-7")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "sent 3, acked 3, duplicates 3, failed 0")
	require.Equal(t, []string{"order-1", "order-2", "order-3"}, payloads(s, "q"))
	require.Equal(t, appID("batch-7", 2, 3), s.Messages("q")[1].ID)
}
