package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/conf/clientconf"
)

// parse parses args as main does; the string is --help's text.
func parse(t *testing.T, args ...string) (clientconf.ConsumerFlags, string, error) {
	t.Helper()
	var f clientconf.ConsumerFlags
	var out bytes.Buffer
	exited := false
	p, err := kong.New(&f, append(parserOptions(), kong.Writers(&out, &out), kong.Exit(func(int) { exited = true }))...)
	require.NoError(t, err)
	_, err = p.Parse(args)
	if exited {
		return f, out.String(), nil
	}
	return f, out.String(), err
}

func TestArgsDefaults(t *testing.T) {
	f, _, err := parse(t, "--node", "localhost:9001", "--destination", "test-queue")
	require.NoError(t, err)
	require.Equal(t, clientconf.ConsumerFlags{Node: "localhost:9001", Destination: "test-queue", Group: "default", Batch: 100}, f)
	require.Equal(t, 2*time.Second, f.IdleTimeout())
}

func TestArgsIdleTimeout(t *testing.T) {
	f := func(args []string, want time.Duration) {
		t.Helper()
		flags, _, err := parse(t, append([]string{"-d", "q"}, args...)...)
		require.NoError(t, err)
		require.Equal(t, want, flags.IdleTimeout())
	}
	f(nil, 2*time.Second)
	f([]string{"--timeout", "5s"}, 5*time.Second)
	f([]string{"--follow"}, 0)
	f([]string{"--count", "3"}, 0)
	f([]string{"--count", "3", "--timeout", "1s"}, time.Second)
}

func TestArgsAll(t *testing.T) {
	f, _, err := parse(t, "--node", "h:1", "-d", "q", "-g", "g1", "-n", "5", "--follow", "--batch", "7",
		"--json", "--client-id", "me", "--progress", "-v")
	require.NoError(t, err)
	require.Equal(t, clientconf.ConsumerFlags{Node: "h:1", Destination: "q", Group: "g1", Count: 5, Follow: true,
		Batch: 7, JSON: true, ClientID: "me", Progress: true, Verbose: true}, f)
}

func TestArgsInvalid(t *testing.T) {
	_, _, err := parse(t, "-d", "q", "--follow", "--timeout", "1s", "--batch=0", "--count=-2")
	for _, want := range []string{
		"--follow and --timeout exclude each other",
		"--batch 0 must be at least 1",
		"--count -2 must not be negative",
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestHelp(t *testing.T) {
	_, help, err := parse(t, "--help")
	require.NoError(t, err)
	help = strings.Join(strings.Fields(help), " ") // kong wraps lines at its own width
	for _, flag := range []string{"--node", "--destination", "--group", "--count", "--follow", "--timeout",
		"--batch", "--json", "--client-id", "--key-file", "--tls", "--tls-ca", "--progress", "--version"} {
		require.Contains(t, help, flag)
	}
	require.Contains(t, help, "Without --timeout it waits for them however long that takes.")
	require.Contains(t, help, "(default: default)")
}

func TestVersion(t *testing.T) {
	_, out, err := parse(t, "--version")
	require.NoError(t, err)
	require.Regexp(t, `^consumer-client \S+ \(commit \S+(, modified)?, go1\.\d+\S*\)\n$`, out)
}
