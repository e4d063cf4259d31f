package perf

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// consume runs consume or consume-confirmed: pre-fill cfg.Msgs messages,
// then consume them (or until cfg.Duration) with cfg.Consumers competing
// consumers of one group.
func (r *runner) consume(ctx context.Context) (Result, error) {
	res := r.result(KindRun)
	stream := r.newStream()
	if err := r.prefill(ctx, stream); err != nil {
		return res, err
	}
	confirmed := r.cfg.Workload == WorkConsumeConfirmed
	st := newStats(0)
	quota := r.cfg.Msgs
	var received atomic.Int64
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := ConsumerOptions{
		Batch: r.cfg.FetchBatch(), AckWindow: r.cfg.AckWindow, Fetches: r.cfg.Fetches, Confirmed: confirmed,
		Received: func(int64) {
			n := received.Add(1)
			if n <= quota {
				st.count(r.clock.Now())
			}
			if n == quota {
				cancel()
			}
		},
		AckConfirmed: func(d time.Duration) { st.latency(int64(d)) },
	}
	var cons []Consumer
	closeAll := func() {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.DrainTimeout)
		defer dcancel()
		for _, c := range cons {
			_ = c.Close(dctx)
		}
	}
	defer closeAll()
	for range r.cfg.Consumers {
		c, err := r.t.Consumer(ctx, stream, "bench", opts)
		if err != nil {
			return res, fmt.Errorf("cannot open a consumer: %w", err)
		}
		cons = append(cons, c)
	}
	start := r.clock.Now()
	if r.cfg.Duration > 0 {
		timer := time.AfterFunc(r.cfg.Duration, cancel)
		defer timer.Stop()
	}
	r.measuring(r.cfg.Duration)
	err := runAll(cctx, cancel, cons)
	m := st.snapshot(LatConfirm)
	if !confirmed {
		m.lat = nil
	}
	fill(&res, m, start, 0)
	return res, err
}

// runAll runs the consumers until ctx ends; the first to fail cancels it.
func runAll(ctx context.Context, cancel context.CancelFunc, cons []Consumer) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cons))
	for i, c := range cons {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				errs[i] = err
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// prefill publishes cfg.Msgs messages to stream as fast as the target
// takes them. An embedded broker is restarted to sync by interval for it,
// and back to cfg.Fsync after: the consume workloads measure consuming, and
// JetStream with a sync per message would take minutes to fill.
func (r *runner) prefill(ctx context.Context, stream string) error {
	restarted := false
	if r.cfg.Fsync == FsyncAlways {
		switch err := r.t.Restart(ctx, FsyncInterval); {
		case err == nil:
			restarted = true
		case !errors.Is(err, ErrNotSupported):
			return fmt.Errorf("cannot restart for the pre-fill: %w", err)
		}
	}
	begin := time.Now()
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	popts := ProducerOptions{Window: max(r.cfg.Window, 1000), Batch: r.cfg.Batch, Acked: func(_ int64, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		}
	}}
	n := r.cfg.Msgs
	per := n / int64(r.cfg.Producers)
	var wg sync.WaitGroup
	errs := make([]error, r.cfg.Producers)
	for i := range r.cfg.Producers {
		quota := per
		if i == 0 {
			quota += n % int64(r.cfg.Producers)
		}
		wg.Go(func() { errs[i] = r.fillOne(ctx, stream, popts, quota) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pre-fill: %w", err)
	}
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("pre-fill: %d messages not stored, first: %w", f, *firstErr.Load())
	}
	r.logf("pre-filled %d messages in %v", n, time.Since(begin).Round(time.Millisecond))
	if restarted {
		if err := r.t.Restart(ctx, r.cfg.Fsync); err != nil {
			return fmt.Errorf("cannot restart after the pre-fill: %w", err)
		}
	}
	return nil
}

// fillOne publishes quota messages from one producer and closes it.
func (r *runner) fillOne(ctx context.Context, stream string, opts ProducerOptions, quota int64) error {
	p, err := r.t.Producer(ctx, stream, opts)
	if err != nil {
		return err
	}
	buf := NewPayload(r.cfg.Size)
	for range quota {
		PutStamp(buf, r.clock.Now())
		if err := p.PublishAsync(ctx, buf); err != nil {
			_ = p.Close(ctx)
			return err
		}
	}
	dctx, cancel := context.WithTimeout(ctx, r.cfg.DrainTimeout+time.Duration(quota)*time.Millisecond)
	defer cancel()
	return errors.Join(p.Flush(dctx), p.Close(dctx))
}
