package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/conf/clientconf"
)

// parse parses args as main does; help receives --help's text.
func parse(t *testing.T, args ...string) (clientconf.ProducerFlags, string, error) {
	t.Helper()
	var f clientconf.ProducerFlags
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
	f, _, err := parse(t, "--destination", "test-queue", "--message", "Hello SwarmMQ")
	require.NoError(t, err)
	require.Equal(t, clientconf.ProducerFlags{
		Node: "localhost:9001", Destination: "test-queue", Message: "Hello SwarmMQ",
		Window: client.DefaultWindow, Batch: 0, Timeout: client.DefaultRequestTimeout,
	}, f)
	o := f.ClientOptions(nil)
	require.Equal(t, "localhost:9001", o.Addr)
	require.Equal(t, 30*time.Second, o.RequestTimeout)
}

func TestArgsAll(t *testing.T) {
	f, _, err := parse(t, "--node", "h:1", "-d", "q", "--count", "10", "--size", "64", "--rate", "2.5",
		"--window", "1", "--batch", "8", "--timeout", "5s", "--client-id", "me", "--progress", "-v")
	require.NoError(t, err)
	require.Equal(t, clientconf.ProducerFlags{Node: "h:1", Destination: "q", Count: 10, Size: 64, Rate: 2.5,
		Window: 1, Batch: 8, Timeout: 5 * time.Second, ClientID: "me", Progress: true, Verbose: true}, f)
}

func TestArgsInvalid(t *testing.T) {
	_, _, err := parse(t, "--message", "x")
	require.ErrorContains(t, err, "missing flags: --destination")

	_, _, err = parse(t, "-d", "q", "--message", "x", "--size", "3", "--stdin", "--window=0", "--count=-1", "--rate=-1")
	for _, want := range []string{
		"--size applies only without --message and --stdin",
		"--message and --stdin exclude each other",
		"--window 0 must be at least 1",
		"--count -1 must not be negative",
		"--rate -1 must not be negative",
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestHelp(t *testing.T) {
	_, help, err := parse(t, "--help")
	require.NoError(t, err)
	help = strings.Join(strings.Fields(help), " ") // kong wraps lines at its own width
	for _, flag := range []string{"--node", "--destination", "--message", "--count", "--size", "--rate",
		"--window", "--stdin", "--client-id", "--progress", "--timeout", "--batch", "--key-file", "--tls", "--tls-ca"} {
		require.Contains(t, help, flag)
	}
	require.Contains(t, help, "(default: 1000)")
	require.Contains(t, help, "(default: localhost:9001)")
}

func TestVersion(t *testing.T) {
	_, out, err := parse(t, "--version")
	require.NoError(t, err)
	require.Regexp(t, `^producer-client \S+ \(commit \S+(, modified)?, go1\.\d+\S*\)\n$`, out)
}
