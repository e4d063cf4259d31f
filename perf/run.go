package perf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Run runs cfg's workload against t and returns the report; progress
// lines go to log. With cfg.PprofAddr set it saves profiles in cfg.Out
// and lists them in the result.
func Run(ctx context.Context, cfg Config, t Target, log io.Writer) (Report, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	r := &runner{cfg: cfg, t: t, clock: NewClock(), log: log}
	if cfg.PprofAddr != "" {
		r.prof = &profiler{addr: cfg.PprofAddr, dir: cfg.Out, stem: cfg.Name}
	}
	rep := Report{Machine: ThisMachine(), Command: cfg.Args, Started: time.Now().UTC()}
	var res Result
	var err error
	switch {
	case cfg.consumeOnly():
		res, err = r.consume(ctx)
	case len(cfg.Steps) > 0:
		res, err = r.curve(ctx)
	default:
		res, err = r.produce(ctx)
	}
	if r.prof != nil {
		files, perr := r.prof.finish(ctx)
		res.Profiles = files
		err = errors.Join(err, perr)
	}
	rep.Target = t.Info()
	res.System, res.Fsync = rep.Target.System, rep.Target.Fsync
	rep.Results = []Result{res}
	return rep, err
}

// runner runs one workload. It is used by one goroutine (it starts the
// producers' and consumers' goroutines and waits for them).
type runner struct {
	cfg   Config
	t     Target
	clock Clock
	log   io.Writer
	prof  *profiler
}

// result returns a Result with cfg's parameters filled in.
func (r *runner) result(kind string) Result {
	c := r.cfg
	batch := c.Batch
	if c.Workload != WorkPublish && c.Workload != WorkPublishSync {
		batch = c.FetchBatch()
	}
	return Result{Workload: c.Workload, Kind: kind, Label: c.Label, Size: c.Size, Batch: batch, Window: c.Window,
		AckWindow: c.AckWindow, Fetches: c.Fetches, Producers: c.Producers, Consumers: c.Consumers}
}

// measuring tells the profiler that the measured part starts and lasts
// about d.
func (r *runner) measuring(d time.Duration) {
	if r.prof != nil {
		r.prof.startCPU(d)
	}
}

// logf writes a progress line.
func (r *runner) logf(format string, args ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, format+"\n", args...)
	}
}

// newStream returns a fresh stream name for this run.
func (r *runner) newStream() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "bench-" + r.cfg.Workload + "-" + hex.EncodeToString(b[:])
}

// end returns the Clock time a closed-loop phase starting its measurement
// at from stops sending.
func (r *runner) end(from int64) int64 {
	if r.cfg.Duration == 0 {
		return math.MaxInt64
	}
	return from + int64(r.cfg.Duration)
}

// fill sets the figures of res from a measurement that started at from;
// floor is the shortest elapsed time to divide by (an open-loop step's
// duration). A completion window is its own elapsed time.
func fill(res *Result, m measurement, from int64, floor time.Duration) {
	res.Msgs, res.Errors = m.n, m.errs
	secs := max(float64(m.last-from), float64(floor)) / 1e9
	switch {
	case m.window > 0:
		secs = float64(m.window) / 1e9
	case m.n == 0:
		secs = float64(floor) / 1e9
	}
	res.Seconds = secs
	if secs > 0 {
		res.Rate = float64(m.n) / secs
	}
	res.MBps = res.Rate * float64(res.Size) / 1e6
	res.Latency, res.Lag = m.lat, m.lag
}

// produce runs publish, publish-sync or e2e once: closed loop, or open
// loop at cfg.Rate.
func (r *runner) produce(ctx context.Context) (Result, error) {
	s, err := r.openSession(ctx)
	if err != nil {
		return Result{}, err
	}
	defer s.close(ctx)
	res := r.result(KindRun)
	start := r.clock.Now() + int64(time.Millisecond)
	spec := r.spec(start)
	if r.cfg.Rate > 0 {
		res.Offered = r.cfg.Rate
		spec = phaseSpec{from: spec.from, end: r.end(spec.from), quota: r.cfg.Msgs, pace: r.openLoop(start, r.cfg.Rate)}
		r.measuring(r.cfg.Warmup + r.cfg.Duration)
	} else if spec.steady == 0 {
		r.measuring(r.cfg.Warmup + r.cfg.Duration)
	}
	m, err := s.phase(ctx, spec)
	fill(&res, m, spec.from, 0)
	return res, err
}

// spec returns the phase of a run starting at start: a steady-state window
// of cfg.Duration after the warmup, or, with cfg.Msgs, the first Msgs
// messages sent after the warmup (within cfg.Duration if set).
func (r *runner) spec(start int64) phaseSpec {
	from := start + int64(r.cfg.Warmup)
	if r.cfg.Msgs == 0 {
		return phaseSpec{from: from, steady: r.cfg.Duration}
	}
	return phaseSpec{from: from, end: r.end(from), quota: r.cfg.Msgs}
}

// openLoop returns pacers that share rate among the producers, their
// schedules interleaved.
func (r *runner) openLoop(start int64, rate float64) func(i int) *Pacer {
	per := rate / float64(r.cfg.Producers)
	return func(i int) *Pacer {
		offset := int64(float64(i) * 1e9 / rate)
		return OpenLoop(r.clock, start+offset, per)
	}
}

// curve measures the closed-loop maximum (unless cfg.MaxRate gives it),
// then each step of cfg.Steps in open loop.
func (r *runner) curve(ctx context.Context) (Result, error) {
	s, err := r.openSession(ctx)
	if err != nil {
		return Result{}, err
	}
	defer s.close(ctx)
	res := r.result(KindCurve)
	top := r.cfg.MaxRate
	start := r.clock.Now()
	if top == 0 {
		spec := r.spec(start)
		if spec.steady == 0 {
			r.measuring(r.cfg.Warmup + r.cfg.Duration)
		}
		m, err := s.phase(ctx, spec)
		fill(&res, m, spec.from, 0)
		if err != nil {
			return res, err
		}
		top = res.Rate
		r.logf("closed-loop maximum: %s msgs/s", Human(top))
	} else {
		from := start + int64(r.cfg.Warmup)
		if _, err := s.phase(ctx, phaseSpec{from: from, end: from}); err != nil { // warm up only
			return res, err
		}
	}
	if top <= 0 {
		return res, errors.New("perf: no maximum rate to scale the curve to (nothing was acknowledged)")
	}
	for _, pct := range r.cfg.Steps {
		rate := top * float64(pct) / 100
		begin := r.clock.Now() + int64(time.Millisecond)
		m, err := s.phase(ctx, phaseSpec{from: begin, end: begin + int64(r.cfg.StepDuration), pace: r.openLoop(begin, rate)})
		step := Result{Size: res.Size}
		fill(&step, m, begin, r.cfg.StepDuration)
		res.Steps = append(res.Steps, Step{Percent: pct, Offered: rate, Achieved: step.Rate, Msgs: step.Msgs,
			Errors: step.Errors, Seconds: step.Seconds, Latency: step.Latency, Lag: step.Lag})
		r.logf("step %3d%%: offered %s, achieved %s msgs/s", pct, Human(rate), Human(step.Rate))
		if err != nil {
			return res, err
		}
	}
	return res, nil
}
