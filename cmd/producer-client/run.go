package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/conf/clientconf"
	"github.com/swarmmq/swarmmq/frame"
)

// progressInterval is how often the progress bar is redrawn.
const progressInterval = 250 * time.Millisecond

// env is what run needs from the process.
type env struct {
	stdin  io.Reader
	stderr io.Writer
	tty    bool // stderr is a terminal
}

// run publishes what the flags describe and returns the exit code.
func run(ctx context.Context, f clientconf.ProducerFlags, e env) int {
	level := slog.LevelWarn
	if f.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	opts := f.ClientOptions(log)
	kr, warnings, err := clientconf.LoadKeyring(f.KeyFile)
	for _, w := range warnings {
		fmt.Fprintln(e.stderr, "producer-client: warning:", w)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "producer-client:", err)
		return 1
	}
	opts.Keyring = kr
	if opts.TLS, err = f.TLS.Config(); err != nil {
		fmt.Fprintln(e.stderr, "producer-client:", err)
		return 1
	}
	// Dial tries again while no node answers, until its ctx ends: the
	// command waits one dial timeout for a node to come up, then says why.
	dctx, cancel := context.WithTimeout(ctx, cmp.Or(opts.DialTimeout, client.DefaultDialTimeout))
	c, err := client.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintln(e.stderr, "producer-client:", err)
		return 1
	}
	defer c.Close()

	src := newSource(f, e.stdin, c.MaxFrame())
	var st stats
	start := time.Now()
	stopProgress := startProgress(f, e, &st, src.total(), start)
	err = produce(ctx, c, f, src, &st)
	stopProgress()
	fmt.Fprintln(e.stderr, st.summary(time.Since(start)))
	code := 0
	if err != nil {
		fmt.Fprintln(e.stderr, "producer-client:", err)
		code = 1
	}
	for _, p := range st.problems() {
		fmt.Fprintln(e.stderr, "producer-client:", p)
		code = 1
	}
	return code
}

// startProgress starts the progress bar if stderr is a terminal or
// --progress asks for it, and returns the function that stops it.
func startProgress(f clientconf.ProducerFlags, e env, st *stats, total int, start time.Time) func() {
	if !e.tty && !f.Progress {
		return func() {}
	}
	p := &progressLine{w: e.stderr, st: st, total: total, start: start, tty: e.tty}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { p.run(stop, progressInterval) })
	return func() {
		close(stop)
		wg.Wait()
	}
}

// produce sends every payload of src, paced by --rate, until src ends or
// ctx is cancelled, then waits up to --timeout for the outstanding acks.
// Outcomes go to st; the error is why sending stopped early, if not ctx.
func produce(ctx context.Context, c *client.Client, f clientconf.ProducerFlags, src source, st *stats) error {
	pace := pacer{rate: f.Rate, start: time.Now()}
	h, err := f.Headers()
	if err != nil {
		return err
	}
	if f.ID != "" {
		i := 0
		return sendAll(ctx, pace, src, st, func(payload []byte) error {
			i++
			res, err := c.PublishMsgWithID(ctx, f.Destination, appID(f.ID, i, f.Count), client.Message{Payload: payload, Headers: h})
			st.result(res)
			return err
		})
	}
	if f.Window == 1 {
		return sendAll(ctx, pace, src, st, func(payload []byte) error {
			res, err := c.PublishMsgs(ctx, f.Destination, client.Message{Payload: payload, Headers: h})
			if len(res) == 1 {
				st.result(res[0])
			} else {
				st.fail(err)
			}
			return err
		})
	}
	p, err := c.NewPublisher(f.Destination, client.PublisherOptions{Window: f.Window, MaxBatch: f.Batch})
	if err != nil {
		return err
	}
	err = sendAll(ctx, pace, src, st, func(payload []byte) error {
		err := p.PublishMsg(ctx, client.Message{Payload: payload, Headers: h}, st.result)
		switch {
		case err == nil:
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			// Interrupted while waiting for room in the window: the
			// message was never handed over, so it was not sent.
			st.sent.Add(-1)
		default:
			st.fail(err)
		}
		return err
	})
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.Timeout)
	defer cancel()
	if cerr := p.Close(flushCtx); cerr != nil && err == nil {
		err = fmt.Errorf("waiting for acks: %w", cerr)
	}
	return err
}

// sendAll feeds src to send, which records each outcome in st. Sending
// stops when src ends, ctx ends, or send fails in a way the next message
// would too (the client stopped, the destination is invalid).
func sendAll(ctx context.Context, pace pacer, src source, st *stats, send func([]byte) error) error {
	for i := 0; ctx.Err() == nil; i++ {
		if d := pace.delay(i, time.Now()); d > time.Millisecond && !sleep(ctx, d) {
			return nil
		}
		payload, ok, err := src.next()
		if err != nil {
			return fmt.Errorf("reading messages: %w", err)
		}
		if !ok {
			return nil
		}
		st.sent.Add(1)
		if err := send(payload); err != nil && ctx.Err() == nil && stopsRun(err) {
			return err
		}
	}
	return nil
}

// stopsRun reports whether a publish error will repeat for every message.
func stopsRun(err error) bool {
	return errors.Is(err, client.ErrClosed) || errors.Is(err, client.ErrConnectionLost) ||
		frame.CodeOf(err) == frame.CodeBadDestination
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

// appID returns the application id of message i (from 1) of count under
// key: SHA-256(key-i)[:16], or SHA-256(key)[:16] for a single message.
func appID(key string, i, count int) [16]byte {
	if count > 1 {
		key = fmt.Sprintf("%s-%d", key, i)
	}
	sum := sha256.Sum256([]byte(key))
	return [16]byte(sum[:16])
}
