package swarm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/perf"
)

// TestEndToEnd runs every workload briefly against an in-process node.
func TestEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		workload string
		fsync    string
		msgs     int64
		steps    []int
	}{
		{perf.WorkPublish, perf.FsyncAlways, 3000, nil},
		{perf.WorkPublishSync, perf.FsyncInterval, 200, nil},
		{perf.WorkConsume, perf.FsyncAlways, 2000, nil},
		{perf.WorkConsumeConfirmed, perf.FsyncInterval, 2000, nil},
		{perf.WorkE2E, perf.FsyncAlways, 2000, nil},
		{perf.WorkE2E, perf.FsyncInterval, 0, []int{20, 60}},
	} {
		t.Run("workload="+tc.workload+"/fsync="+tc.fsync, func(t *testing.T) {
			ctx := context.Background()
			tg, err := New(Options{Embedded: true, DataDir: t.TempDir(), Fsync: tc.fsync, FsyncInterval: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := tg.Close(ctx); err != nil {
					t.Error(err)
				}
			}()
			cfg := perf.Config{Workload: tc.workload, Embedded: true, Fsync: tc.fsync, Msgs: tc.msgs, Warmup: 20 * time.Millisecond,
				Window: 200, Batch: 50, Consumers: 2, Steps: tc.steps, StepDuration: 150 * time.Millisecond}
			if tc.steps != nil {
				cfg.Duration, cfg.MaxRate = 0, 2000
			}
			var log bytes.Buffer
			rep, err := perf.Run(ctx, cfg, tg, &log)
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			r := rep.Results[0]
			if r.System != "swarmmq" || r.Fsync != tc.fsync || r.Errors != 0 {
				t.Fatalf("result %+v", r)
			}
			if tc.steps == nil && r.Msgs != tc.msgs {
				t.Fatalf("measured %d messages, want %d", r.Msgs, tc.msgs)
			}
			if len(r.Steps) != len(tc.steps) {
				t.Fatalf("%d steps", len(r.Steps))
			}
			for _, s := range r.Steps {
				if s.Msgs == 0 || s.Latency == nil {
					t.Fatalf("step %+v", s)
				}
			}
		})
	}
}

// TestProfiles grabs CPU and heap profiles from the embedded node's pprof.
func TestProfiles(t *testing.T) {
	ctx := context.Background()
	tg, err := New(Options{Embedded: true, DataDir: t.TempDir(), Fsync: perf.FsyncInterval, HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tg.Close(ctx) }()
	out := t.TempDir()
	cfg := perf.Config{Workload: perf.WorkPublish, Embedded: true, Fsync: perf.FsyncInterval, Duration: 300 * time.Millisecond,
		Warmup: 10 * time.Millisecond, Out: out, Name: "p", PprofAddr: tg.PprofAddr()}
	rep, err := perf.Run(ctx, cfg, tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "p-cpu.pprof"), filepath.Join(out, "p-heap.pprof")}
	if got := rep.Results[0].Profiles; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("profiles %v, want %v", got, want)
	}
	for _, f := range want {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Fatalf("profile %s: %v", f, err)
		}
	}
	// A running node (not embedded) tells its fsync policy by /health.
	ext, err := New(Options{Addr: tg.mu.addr, HealthAddr: tg.PprofAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if info := ext.Info(); info.Fsync != perf.FsyncInterval || info.Embedded {
		t.Fatalf("external node info %+v", info)
	}
	if err := ext.Restart(ctx, perf.FsyncAlways); err != perf.ErrNotSupported {
		t.Fatalf("restart of an external node: %v", err)
	}
	_ = ext.Close(ctx)
}

func TestFIFO(t *testing.T) {
	var f fifo
	for round := range 5 {
		for i := range 100 {
			f.push(int64(round*1000 + i))
		}
		f.dropNewest()
		for i := range 99 {
			if got := f.pop(); got != int64(round*1000+i) {
				t.Fatalf("round %d: pop %d, want %d", round, got, round*1000+i)
			}
		}
	}
	if f.pop() != -1 {
		t.Fatal("empty fifo popped a value")
	}
	// Growing while the ring wraps keeps the order.
	next, want := int64(0), int64(0)
	for range 50 {
		f.push(next)
		next++
	}
	for range 30 {
		if got := f.pop(); got != want {
			t.Fatalf("pop %d, want %d", got, want)
		}
		want++
	}
	for range 500 {
		f.push(next)
		next++
	}
	for want < next {
		if got := f.pop(); got != want {
			t.Fatalf("after growing: pop %d, want %d", got, want)
		}
		want++
	}
}
