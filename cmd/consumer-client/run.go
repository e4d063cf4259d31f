package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/conf/clientconf"
)

// maxPollWait bounds one long poll, so that an idle timeout or a lost
// server is noticed.
const maxPollWait = 30 * time.Second

// retryPause is the pause after a fetch failed with a retryable error.
const retryPause = 100 * time.Millisecond

// run consumes what the flags describe and returns the exit code.
func run(ctx context.Context, f clientconf.ConsumerFlags, out *bufio.Writer, stderr io.Writer) int {
	level := slog.LevelWarn
	if f.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	c, err := client.Dial(ctx, f.ClientOptions(log))
	if err != nil {
		fmt.Fprintln(stderr, "consumer-client:", err)
		return 1
	}
	defer c.Close()
	n, err := consume(ctx, c, f, newPrinter(out, f.JSON))
	if f.Verbose {
		fmt.Fprintf(stderr, "consumer-client: %d messages\n", n)
	}
	if err != nil {
		fmt.Fprintln(stderr, "consumer-client:", err)
		return 1
	}
	return 0
}

// broker is what consume needs of a client.
type broker interface {
	Fetch(ctx context.Context, dest, group string, max int, wait time.Duration) ([]client.Delivery, error)
	Ack(ctx context.Context, dest, group string, seqs ...uint64) error
}

// consume fetches, prints and acks batches until --count messages were
// printed, nothing arrived for the idle timeout, or ctx ends (a normal
// stop: nil error). It returns how many messages it printed.
func consume(ctx context.Context, b broker, f clientconf.ConsumerFlags, p *printer) (int, error) {
	idle := f.IdleTimeout()
	last := time.Now()
	n := 0
	for f.Count == 0 || n < f.Count {
		wait := maxPollWait
		if idle > 0 {
			left := idle - time.Since(last)
			if left <= 0 {
				break
			}
			wait = min(wait, left)
		}
		max := f.Batch
		if f.Count > 0 {
			max = min(max, f.Count-n)
		}
		ds, err := b.Fetch(ctx, f.Destination, f.Group, max, wait)
		switch {
		case ctx.Err() != nil:
			return n, nil
		case err != nil && client.IsRetryable(err):
			// The client reconnects by itself; what the failed fetch
			// delivered comes back after the server's ack timeout.
			if !sleep(ctx, retryPause) {
				return n, nil
			}
			continue
		case err != nil:
			return n, err
		case len(ds) == 0:
			continue
		}
		if err := p.print(ds); err != nil {
			return n, fmt.Errorf("writing messages: %w", err)
		}
		n += len(ds)
		last = time.Now()
		if err := ack(ctx, b, f, ds); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ack confirms a printed batch, even when ctx has just ended: the batch
// was printed, so it must not come again.
func ack(ctx context.Context, b broker, f clientconf.ConsumerFlags, ds []client.Delivery) error {
	seqs := make([]uint64, len(ds))
	for i, d := range ds {
		seqs[i] = d.Seq
	}
	return b.Ack(context.WithoutCancel(ctx), f.Destination, f.Group, seqs...)
}

// sleep waits for d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
