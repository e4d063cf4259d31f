package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/conf/clientconf"
)

// maxPollWait bounds one long poll, so that an idle timeout or a lost
// server is noticed.
const maxPollWait = 30 * time.Second

// retryPause is the pause after a fetch failed with a retryable error.
const retryPause = 100 * time.Millisecond

// run consumes what the flags describe and returns the exit code; tty
// says whether stderr is a terminal (which shows the progress line).
func run(ctx context.Context, f clientconf.ConsumerFlags, out *bufio.Writer, stderr io.Writer, tty bool) int {
	level := slog.LevelWarn
	if f.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := f.ClientOptions(log)
	kr, warnings, err := clientconf.LoadKeyring(f.KeyFile)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "consumer-client: warning:", w)
	}
	if err != nil {
		fmt.Fprintln(stderr, "consumer-client:", err)
		return 1
	}
	opts.Keyring = kr
	if opts.TLS, err = f.TLS.Config(); err != nil {
		fmt.Fprintln(stderr, "consumer-client:", err)
		return 1
	}
	// Dial tries again while no node answers, until its ctx ends: the
	// command waits one dial timeout for a node to come up, then says why.
	dctx, cancel := context.WithTimeout(ctx, cmp.Or(opts.DialTimeout, client.DefaultDialTimeout))
	c, err := client.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "consumer-client:", err)
		return 1
	}
	defer c.Close()
	var t tally
	start := time.Now()
	stopProgress := func() {}
	if tty || f.Progress {
		stopProgress = (&progressLine{w: stderr, t: &t, count: f.Count, start: start, tty: tty}).run(progressInterval)
	}
	var b broker = c
	if f.From != "" {
		from, _ := client.ParseStart(f.From) // checked by ConsumerFlags.Validate
		b = fromBroker{c, from}
	}
	err = consume(ctx, b, f, newPrinter(out, f.JSON), stderr, &t)
	stopProgress()
	fmt.Fprintln(stderr, "consumer-client:", t.summary(time.Since(start)))
	code := 0
	if n := t.withheld.Load(); n > 0 {
		fmt.Fprintf(stderr, "consumer-client: %d deliveries withheld (not acknowledged)\n", n)
		code = 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "consumer-client:", err)
		code = 1
	}
	return code
}

// broker is what consume needs of a client: deliveries settle themselves
// (client.AckAll), except a batch given back unopened (Release).
type broker interface {
	Fetch(ctx context.Context, dest, group string, max int, wait time.Duration) ([]client.Delivery, error)
	Release(ctx context.Context, dest, group string, delay time.Duration, seqs ...uint64) error
}

// fromBroker fetches with FetchFrom: a group its first FETCH creates
// starts at from (--from).
type fromBroker struct {
	*client.Client
	from client.Start
}

func (b fromBroker) Fetch(ctx context.Context, dest, group string, max int, wait time.Duration) ([]client.Delivery, error) {
	return b.FetchFrom(ctx, dest, group, max, wait, b.from)
}

// consume fetches, prints and acks batches until --count deliveries were
// handled (printed, or withheld), nothing arrived for the idle timeout,
// or ctx ends (a normal stop: nil error); t counts them. A delivery with
// Err (a sealed payload that does not open) is reported on stderr, not
// acknowledged, and counts towards --count (so that a message that cannot
// be opened cannot keep the consumer waiting: the node delivers it again
// after its ack timeout, and eventually dead-letters it). But when the
// cause is this consumer's keyring (client.ErrKeyringMismatch), the batch
// is released (its attempts not counted) and consume stops with that
// error: a misconfigured consumer must not dead-letter what others can
// open.
func consume(ctx context.Context, b broker, f clientconf.ConsumerFlags, p *printer, stderr io.Writer, t *tally) error {
	idle := f.IdleTimeout()
	last := time.Now()
	for f.Count == 0 || t.handled() < int64(f.Count) {
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
			max = min(max, f.Count-int(t.handled()))
		}
		ds, err := b.Fetch(ctx, f.Destination, f.Group, max, wait)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && client.IsRetryable(err):
			// The client reconnects by itself; what the failed fetch
			// delivered comes back after the server's ack timeout.
			if !sleep(ctx, retryPause) {
				return nil
			}
			continue
		case err != nil:
			return err
		case len(ds) == 0:
			continue
		}
		last = time.Now()
		if err := releaseMismatch(ctx, b, f, ds); err != nil {
			return err
		}
		ds = withhold(ds, stderr, t)
		if len(ds) == 0 {
			continue
		}
		if err := p.print(ds); err != nil {
			return fmt.Errorf("writing messages: %w", err)
		}
		t.printed.Add(int64(len(ds)))
		if err := ack(ctx, ds); err != nil {
			return err
		}
	}
	return nil
}

// releaseMismatch gives the whole batch back without counting its
// attempts, and returns the first delivery's error, if a delivery of ds
// cannot be opened because of this consumer's keyring; else nil.
func releaseMismatch(ctx context.Context, b broker, f clientconf.ConsumerFlags, ds []client.Delivery) error {
	i := slices.IndexFunc(ds, func(d client.Delivery) bool { return errors.Is(d.Err, client.ErrKeyringMismatch) })
	if i < 0 {
		return nil
	}
	seqs := make([]uint64, len(ds))
	for j, d := range ds {
		seqs[j] = d.Seq
	}
	if err := b.Release(context.WithoutCancel(ctx), f.Destination, f.Group, 0, seqs...); err != nil {
		return fmt.Errorf("%w (and giving back %d deliveries failed: %w)", ds[i].Err, len(ds), err)
	}
	return fmt.Errorf("%w; %d deliveries given back, their attempts not counted", ds[i].Err, len(ds))
}

// withhold reports the deliveries with Err on stderr and returns the
// others, in place.
func withhold(ds []client.Delivery, stderr io.Writer, t *tally) []client.Delivery {
	ok := ds[:0]
	for _, d := range ds {
		if d.Err == nil {
			ok = append(ok, d)
			continue
		}
		t.withheld.Add(1)
		fmt.Fprintf(stderr, "consumer-client: seq %d (attempt %d) withheld, not acknowledged: %v\n", d.Seq, d.Attempt, d.Err)
	}
	return ok
}

// ack settles each delivery of a printed batch as acked (one ACK for the
// batch: client.AckAll is the batch form of Delivery.Ack), even when ctx
// has just ended: the batch was printed, so it must not come again.
func ack(ctx context.Context, ds []client.Delivery) error {
	return client.AckAll(context.WithoutCancel(ctx), ds)
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
