package perf

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func runFake(t *testing.T, cfg Config) (Report, *fakeTarget) {
	t.Helper()
	ft := newFakeTarget()
	cfg.Embedded = true
	cfg.Target = "swarmmq"
	var log bytes.Buffer
	rep, err := Run(context.Background(), cfg, ft, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if len(rep.Results) != 1 {
		t.Fatalf("%d results", len(rep.Results))
	}
	return rep, ft
}

func TestRunWorkloads(t *testing.T) {
	for _, tc := range []struct {
		cfg      Config
		msgs     int64
		what     string
		restarts []string
	}{
		{Config{Workload: WorkPublish, Msgs: 3000, Window: 100}, 3000, LatPublish, nil},
		{Config{Workload: WorkPublish, Msgs: 1000, Producers: 3}, 1000, LatPublish, nil},
		{Config{Workload: WorkPublishSync, Msgs: 500}, 500, LatPublish, nil},
		{Config{Workload: WorkConsume, Msgs: 2000, Producers: 2, Consumers: 2}, 2000, "", []string{FsyncInterval, FsyncAlways}},
		{Config{Workload: WorkConsumeConfirmed, Msgs: 2000, Fsync: FsyncInterval}, 2000, LatConfirm, nil},
		{Config{Workload: WorkE2E, Msgs: 2000, Window: 50}, 2000, LatE2E, nil},
	} {
		t.Run("workload="+tc.cfg.Workload, func(t *testing.T) {
			tc.cfg.Duration = 0
			tc.cfg.Warmup = 10 * time.Millisecond
			rep, ft := runFake(t, tc.cfg)
			r := rep.Results[0]
			if r.Msgs != tc.msgs || r.Errors != 0 || r.Rate <= 0 {
				t.Fatalf("measured %d msgs (%d errors) at %v/s, want %d", r.Msgs, r.Errors, r.Rate, tc.msgs)
			}
			switch {
			case tc.what == "" && r.Latency != nil:
				t.Fatalf("latency %+v where none is measured", r.Latency)
			case tc.what != "" && (r.Latency == nil || r.Latency.What != tc.what):
				t.Fatalf("latency %+v, want %s", r.Latency, tc.what)
			}
			if !slices.Equal(ft.restarts, tc.restarts) {
				t.Fatalf("restarts %v, want %v", ft.restarts, tc.restarts)
			}
			if r.System != "fake" || r.Workload != tc.cfg.Workload || rep.Machine.Cores == 0 {
				t.Fatalf("result not labelled: %+v", r)
			}
		})
	}
}

// A closed loop with a duration measures the completions inside the
// window after the warmup: its elapsed time is the window.
func TestRunClosedLoopWindow(t *testing.T) {
	for _, w := range []string{WorkPublish, WorkPublishSync, WorkE2E} {
		rep, _ := runFake(t, Config{Workload: w, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond, Window: 64})
		r := rep.Results[0]
		if r.Seconds != 0.1 || r.Msgs == 0 || math.Abs(r.Rate-float64(r.Msgs)/0.1) > 1e-6 {
			t.Fatalf("%s: %d msgs in %v s at %v/s", w, r.Msgs, r.Seconds, r.Rate)
		}
	}
}

func TestRunOpenLoopAtRate(t *testing.T) {
	rep, _ := runFake(t, Config{Workload: WorkPublish, Rate: 5000, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond})
	r := rep.Results[0]
	if r.Offered != 5000 || math.Abs(float64(r.Msgs)-500) > 2 || r.Lag == nil {
		t.Fatalf("open loop at 5k/s for 100 ms: %+v", r)
	}
}

func TestRunCurve(t *testing.T) {
	cfg := Config{Workload: WorkE2E, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond,
		Steps: []int{10, 50}, StepDuration: 100 * time.Millisecond, MaxRate: 20_000, Producers: 2}
	rep, _ := runFake(t, cfg)
	r := rep.Results[0]
	if r.Kind != KindCurve || len(r.Steps) != 2 {
		t.Fatalf("curve %+v", r)
	}
	for _, s := range r.Steps {
		want := 20_000 * float64(s.Percent) / 100
		if s.Offered != want {
			t.Fatalf("step %d%% offered %v, want %v", s.Percent, s.Offered, want)
		}
		// The schedule fixes how many messages go out; the rate achieved
		// depends on the machine, but never exceeds the offer by more than
		// the last message's latency allows.
		if sched := want * cfg.StepDuration.Seconds(); math.Abs(float64(s.Msgs)-sched) > 2 {
			t.Fatalf("step %d%% delivered %d messages, the schedule has %v", s.Percent, s.Msgs, sched)
		}
		if s.Achieved <= 0 || s.Achieved > 1.05*want {
			t.Fatalf("step %d%% achieved %v of %v", s.Percent, s.Achieved, want)
		}
		if s.Latency == nil || s.Latency.What != LatE2E || s.Lag == nil {
			t.Fatalf("step %d%% without latency or lag: %+v", s.Percent, s)
		}
	}
}

func TestRunMeasuresTheMaximumFirst(t *testing.T) {
	cfg := Config{Workload: WorkPublish, Duration: 100 * time.Millisecond, Warmup: 10 * time.Millisecond,
		Steps: []int{20}, StepDuration: 50 * time.Millisecond}
	rep, _ := runFake(t, cfg)
	r := rep.Results[0]
	if r.Rate <= 0 || len(r.Steps) != 1 || math.Abs(r.Steps[0].Offered-r.Rate*0.2) > 1e-6*r.Rate {
		t.Fatalf("curve not scaled to the measured maximum: rate %v, steps %+v", r.Rate, r.Steps)
	}
}

func TestOutputFiles(t *testing.T) {
	rep, _ := runFake(t, Config{Workload: WorkE2E, Msgs: 500, Steps: []int{50}, MaxRate: 5000,
		StepDuration: 50 * time.Millisecond, Args: []string{"swarmbench", "-w", "e2e"}})
	dir := t.TempDir()
	files, err := rep.WriteFiles(dir, "x")
	if err != nil || len(files) != 2 {
		t.Fatalf("write: %v %v", files, err)
	}
	f, err := os.Open(filepath.Join(dir, "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	back, err := ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Command, rep.Command) || back.Machine != rep.Machine || len(back.Results[0].Steps) != 1 {
		t.Fatalf("JSON does not round-trip: %+v", back)
	}
	b, err := os.ReadFile(filepath.Join(dir, "x.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[1][3] != "curve-max" || rows[2][3] != "curve-step" || rows[2][5] != "50" {
		t.Fatalf("CSV rows: %q", rows)
	}
	for _, row := range rows {
		if len(row) != len(csvHeader) {
			t.Fatalf("row of %d fields, header has %d", len(row), len(csvHeader))
		}
	}
	if last := rows[1][len(rows[1])-1]; last != "swarmbench -w e2e" {
		t.Fatalf("command column %q", last)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fake 1", "e2e", "50%", "end-to-end"} {
		if !strings.Contains(table.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(mutate func(*Config), want string) {
		t.Helper()
		c := Config{Embedded: true}
		mutate(&c)
		c.EnsureDefaults()
		err := c.Validate()
		switch {
		case want == "" && err != nil:
			t.Errorf("unexpected error: %v", err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("error %v, want it to mention %q", err, want)
		}
	}
	f(func(*Config) {}, "")
	f(func(c *Config) { c.Addr = "x:1" }, "either --addr")
	f(func(c *Config) { c.Embedded = false }, "either --addr")
	f(func(c *Config) { c.Size = 4 }, "below 8 bytes")
	f(func(c *Config) { c.Workload = WorkConsume; c.Steps = []int{50} }, "curves")
	f(func(c *Config) { c.Rate = 10; c.Steps = []int{50} }, "exclude")
	f(func(c *Config) { c.Steps = []int{0} }, "out of range")
	f(func(c *Config) { c.PprofAddr = "x:1" }, "needs --out")
	f(func(c *Config) { c.Workload = "nope" }, "unknown workload")
	c := Config{Workload: WorkConsume, Embedded: true}
	c.EnsureDefaults()
	if c.Msgs != DefaultConsumeMsgs || c.Name != "-always-consume" {
		t.Errorf("consume defaults: msgs %d, name %q", c.Msgs, c.Name)
	}
}

func TestCPUModel(t *testing.T) {
	info := []byte("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n")
	if got := cpuModel(info); got != "AMD EPYC 7B13" {
		t.Fatalf("cpu model %q", got)
	}
}

func TestHuman(t *testing.T) {
	for v, want := range map[float64]string{950: "950", 1234: "1.23k", 12345: "12.3k", 1_250_000: "1.25M"} {
		if got := Human(v); got != want {
			t.Errorf("Human(%v) = %q, want %q", v, got, want)
		}
	}
}
