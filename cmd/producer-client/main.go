// Command producer-client publishes messages to a SwarmMQ destination.
//
//	producer-client --node localhost:9001 --destination test-queue --message "Hello SwarmMQ"
//	producer-client -d test-queue --count 1000000 --size 128           # batched, window 1000
//	producer-client -d test-queue --count 100 --window 1 --rate 10    # synchronous, paced
//	producer-client -d test-queue --stdin < lines.txt
//	producer-client -d test-queue -m secret --key-file keyring.yaml   # sealed (AES-256-GCM)
//	producer-client -d test-queue -m '{"a":1}' -H content-type=application/json -H traceparent=00-…-01
//
// With --key-file every payload is sealed with the keyring's current key
// (docs/sealing.md); a keyring file readable by others gets a warning.
// It prints a summary on stderr (sent, acked, duplicates, failed, msgs/s,
// elapsed) and exits non-zero if any message was not acknowledged. SIGINT
// or SIGTERM stops sending and waits (up to --timeout) for the acks of
// what was sent; a second signal ends it at once.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/cmd/internal/version"
	"github.com/swarmmq/swarmmq/conf/clientconf"
)

func main() {
	var flags clientconf.ProducerFlags
	kong.Parse(&flags, append(parserOptions(), kong.UsageOnError())...)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second signal kills at once
	code := run(ctx, flags, env{stdin: os.Stdin, stderr: os.Stderr, tty: isTerminal(os.Stderr)})
	stop()
	os.Exit(code)
}

// parserOptions are the kong options of the command line.
func parserOptions() []kong.Option {
	return []kong.Option{
		kong.Name("producer-client"),
		kong.Description("Publish messages to a SwarmMQ destination and wait for their acks."),
		clientconf.ClientVars(),
		kong.Embed(&version.Flag{}), version.Vars("producer-client"),
	}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
