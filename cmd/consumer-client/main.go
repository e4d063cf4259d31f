// Command consumer-client consumes messages of a SwarmMQ destination as a
// member of a consumer group and prints them on stdout.
//
//	consumer-client --node localhost:9001 --destination test-queue            # until idle for 2s
//	consumer-client -d test-queue --group billing --follow                    # until interrupted
//	consumer-client -d test-queue --count 10 --json
//	consumer-client -d test-queue --key-file keyring.yaml                     # sealed payloads
//
// Each fetched batch is printed (one payload per line, or one JSON object
// per line with --json), stdout is flushed, and only then is the batch
// acknowledged with a confirmed ack. With --key-file every payload is
// authenticated and decrypted (docs/sealing.md); a delivery that does not
// open (tampered, unknown key, unsealed) is reported on stderr with its
// seq and reason and not acknowledged, so the node delivers it again and
// eventually dead-letters it. --count N stops after N deliveries, printed
// or withheld; without --timeout it waits for them however long that
// takes, so on a terminal (or with --progress) a progress line on stderr
// says how many it still waits for. At the end a summary goes to stderr
// (printed, withheld, msgs/s, elapsed). It exits 0 on a normal stop (count
// reached, idle timeout, SIGINT or SIGTERM), non-zero on an error or when
// any delivery was withheld.
package main

import (
	"bufio"
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/cmd/internal/version"
	"github.com/swarmmq/swarmmq/conf/clientconf"
)

func main() {
	var flags clientconf.ConsumerFlags
	kong.Parse(&flags, append(parserOptions(), kong.UsageOnError())...)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second signal kills at once
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	code := run(ctx, flags, out, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parserOptions are the kong options of the command line.
func parserOptions() []kong.Option {
	return []kong.Option{
		kong.Name("consumer-client"),
		kong.Description("Consume messages of a SwarmMQ destination and print them."),
		clientconf.ClientVars(),
		kong.Embed(&version.Flag{}), version.Vars("consumer-client"),
	}
}
