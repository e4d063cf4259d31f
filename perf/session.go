package perf

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// session holds the open producers (and, for e2e, the running consumers)
// of a publish-side workload across its phases. Its counters and current
// stats are shared with the client goroutines that deliver acks and
// messages.
type session struct {
	r      *runner
	stream string
	prods  []Producer
	cons   []Consumer

	stopCons context.CancelFunc
	consWG   sync.WaitGroup
	consErr  chan error // the first error a consumer's Run returned

	pubStats  atomic.Pointer[stats] // where publish acks are counted
	recvStats atomic.Pointer[stats] // where deliveries are counted (e2e)
	acked     atomic.Int64          // publish acks without error, every phase
	received  atomic.Int64          // deliveries, every phase

	// ahead bounds, in closed-loop e2e, the messages published and not
	// yet delivered (Window per producer): without it producers outrun
	// consumers and the latency measured is only the backlog's growth.
	// A send takes a token, a delivery gives one back.
	ahead chan struct{}
}

// openSession opens cfg.Producers producers on a new stream and, for e2e,
// cfg.Consumers consumers, which start receiving at once.
func (r *runner) openSession(ctx context.Context) (*session, error) {
	s := &session{r: r, stream: r.newStream(), consErr: make(chan error, 1)}
	s.pubStats.Store(newStats(0))
	s.recvStats.Store(newStats(0))
	popts := ProducerOptions{Window: r.cfg.Window, Batch: r.cfg.Batch, Acked: s.onAck}
	for range r.cfg.Producers {
		p, err := r.t.Producer(ctx, s.stream, popts)
		if err != nil {
			s.close(ctx)
			return nil, fmt.Errorf("cannot open a producer: %w", err)
		}
		s.prods = append(s.prods, p)
	}
	if r.cfg.Workload != WorkE2E {
		return s, nil
	}
	copts := ConsumerOptions{Batch: r.cfg.FetchBatch(), AckWindow: r.cfg.AckWindow, Fetches: r.cfg.Fetches,
		Received: s.onReceive}
	for range r.cfg.Consumers {
		c, err := r.t.Consumer(ctx, s.stream, "bench", copts)
		if err != nil {
			s.close(ctx)
			return nil, fmt.Errorf("cannot open a consumer: %w", err)
		}
		s.cons = append(s.cons, c)
	}
	s.ahead = make(chan struct{}, r.cfg.Window*r.cfg.Producers)
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopCons = cancel
	for _, c := range s.cons {
		s.consWG.Go(func() {
			if err := c.Run(cctx); err != nil && cctx.Err() == nil {
				select {
				case s.consErr <- err:
				default:
				}
			}
		})
	}
	return s, nil
}

func (s *session) onAck(sent int64, err error) {
	now := s.r.clock.Now()
	s.pubStats.Load().done(sent, now, err)
	if err == nil {
		s.acked.Add(1)
	}
}

func (s *session) onReceive(sent int64) {
	now := s.r.clock.Now()
	s.received.Add(1)
	s.recvStats.Load().done(sent, now, nil)
	if s.ahead != nil {
		select {
		case <-s.ahead:
		default: // a redelivery: no token to give back
		}
	}
}

// close stops the consumers and closes every connection.
func (s *session) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.r.cfg.DrainTimeout)
	defer cancel()
	if s.stopCons != nil {
		s.stopCons()
		s.consWG.Wait()
	}
	for _, c := range s.cons {
		_ = c.Close(ctx)
	}
	for _, p := range s.prods {
		_ = p.Close(ctx)
	}
}

// measurement is what a phase counted: publish acks, or deliveries for
// e2e.
type measurement = snapshot

// phaseSpec says what a phase sends and what it measures.
type phaseSpec struct {
	// from and end (Clock times): producers send until end (or quota) and
	// the messages sent at or after from are measured.
	from, end int64
	// quota, if not 0, ends sending after that many messages sent at or
	// after from.
	quota int64
	// pace makes producer i's pacer; nil: closed loop.
	pace func(i int) *Pacer
	// steady, if not 0, measures a closed loop's steady state instead: the
	// completions within a window of this length, which opens once from
	// has passed and a first completion has come back (a full pipeline:
	// with a slow broker the first acks may take longer than any fixed
	// warmup); sending ends with the window. end is then ignored.
	steady time.Duration
}

// phase runs the producers as spec says, then waits for the acks and, for
// e2e, the deliveries, and returns what was measured.
func (s *session) phase(ctx context.Context, spec phaseSpec) (measurement, error) {
	cfg := s.r.cfg
	var end atomic.Int64
	end.Store(spec.end)
	pub, recv := newStats(spec.from), newStats(spec.from)
	if spec.steady > 0 {
		end.Store(math.MaxInt64)
		pub, recv = newStats(math.MaxInt64), newStats(math.MaxInt64) // nothing counts before the window
	}
	s.pubStats.Store(pub)
	s.recvStats.Store(recv)
	var counted atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(s.prods))
	for i, p := range s.prods {
		pacer := ClosedLoop(s.r.clock)
		if spec.pace != nil {
			pacer = spec.pace(i)
		}
		wg.Go(func() {
			defer pacer.Close()
			errs[i] = s.send(ctx, p, pacer, &end, spec.quota, &counted, pub, spec.pace != nil)
		})
	}
	var err error
	if spec.steady > 0 {
		pub, recv, err = s.openWindow(ctx, spec.from, spec.steady, &end)
	}
	wg.Wait()
	err = errors.Join(err, errors.Join(errs...))
	dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
	defer cancel()
	for _, p := range s.prods {
		if ferr := p.Flush(dctx); ferr != nil {
			err = errors.Join(err, fmt.Errorf("flush: %w", ferr))
			break
		}
	}
	if cfg.Workload != WorkE2E {
		return pub.snapshot(LatPublish), err
	}
	err = errors.Join(err, s.awaitDeliveries(dctx))
	m, p := recv.snapshot(LatE2E), pub.snapshot(LatPublish)
	m.errs, m.lag = m.errs+p.errs, p.lag
	return m, err
}

// completions counts what a closed loop waits for: deliveries for e2e,
// else publish acks.
func (s *session) completions() int64 {
	if s.r.cfg.Workload == WorkE2E {
		return s.received.Load()
	}
	return s.acked.Load()
}

// openWindow waits until from has passed and a completion has come back,
// then opens a measurement window of length d and makes the producers stop
// at its end. If nothing completes within from + the drain timeout, it
// stops the producers and fails.
func (s *session) openWindow(ctx context.Context, from int64, d time.Duration, end *atomic.Int64) (pub, recv *stats, err error) {
	clock := s.r.clock
	base := s.completions()
	deadline := from + int64(s.r.cfg.DrainTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		now := clock.Now()
		if now >= from && s.completions() > base {
			break
		}
		if now > deadline {
			end.Store(0)
			return s.pubStats.Load(), s.recvStats.Load(), errors.New("perf: nothing acknowledged (or delivered) within the warmup and the drain timeout")
		}
		select {
		case <-ctx.Done():
			end.Store(0)
			return s.pubStats.Load(), s.recvStats.Load(), context.Cause(ctx)
		case <-tick.C:
		}
	}
	open := clock.Now()
	pub, recv = newWindowStats(open, open+int64(d)), newWindowStats(open, open+int64(d))
	s.pubStats.Store(pub)
	s.recvStats.Store(recv)
	end.Store(open + int64(d))
	s.r.measuring(d)
	return pub, recv, nil
}

// awaitDeliveries waits until the consumers received every message
// acknowledged to the producers.
func (s *session) awaitDeliveries(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s.received.Load() < s.acked.Load() {
		select {
		case err := <-s.consErr:
			return fmt.Errorf("consumer: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("%d of %d messages delivered: %w", s.received.Load(), s.acked.Load(), context.Cause(ctx))
		case <-tick.C:
		}
	}
	return nil
}

// giveBack returns the e2e token taken for a message not sent.
func (s *session) giveBack(open bool) {
	if !open && s.ahead != nil {
		select {
		case <-s.ahead:
		default:
		}
	}
}

// send is one producer's loop.
func (s *session) send(ctx context.Context, p Producer, pacer *Pacer, end *atomic.Int64, quota int64, counted *atomic.Int64, st *stats, open bool) error {
	clock := s.r.clock
	buf := NewPayload(s.r.cfg.Size)
	syncPub := s.r.cfg.Workload == WorkPublishSync
	for ctx.Err() == nil {
		if !open && s.ahead != nil {
			select {
			case s.ahead <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		t, ok := pacer.Next(end.Load())
		if ok && quota > 0 && t >= st.from && counted.Add(1) > quota {
			ok = false
		}
		if !ok {
			s.giveBack(open)
			return nil
		}
		PutStamp(buf, t)
		if open && t >= st.from {
			st.lagged(t, clock.Now())
		}
		if syncPub {
			err := p.Publish(ctx, buf)
			s.pubStats.Load().done(t, clock.Now(), err)
			if err == nil {
				s.acked.Add(1)
			}
			continue
		}
		if err := p.PublishAsync(ctx, buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("publish: %w", err)
		}
	}
	return nil
}
