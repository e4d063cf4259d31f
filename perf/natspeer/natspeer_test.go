package natspeer

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/perf"
)

// TestEndToEnd runs every workload briefly against an embedded server.
func TestEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		workload, fsync string
		msgs            int64
		steps           []int
	}{
		{perf.WorkPublish, perf.FsyncInterval, 2000, nil},
		{perf.WorkPublishSync, perf.FsyncAlways, 100, nil},
		{perf.WorkConsume, perf.FsyncAlways, 2000, nil},
		{perf.WorkConsumeConfirmed, perf.FsyncInterval, 1000, nil},
		{perf.WorkE2E, perf.FsyncInterval, 1000, nil},
		{perf.WorkE2E, perf.FsyncInterval, 0, []int{50}},
	} {
		t.Run("workload="+tc.workload+"/fsync="+tc.fsync, func(t *testing.T) {
			ctx := context.Background()
			tg, err := New(Options{Embedded: true, DataDir: t.TempDir(), Fsync: tc.fsync})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tg.Close(ctx) }()
			cfg := perf.Config{Workload: tc.workload, Target: "nats", Embedded: true, Fsync: tc.fsync, Msgs: tc.msgs,
				Warmup: 20 * time.Millisecond, Window: 200, Batch: 50, Steps: tc.steps, StepDuration: 150 * time.Millisecond}
			if tc.steps != nil {
				cfg.MaxRate = 2000
			}
			var log bytes.Buffer
			rep, err := perf.Run(ctx, cfg, tg, &log)
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			r := rep.Results[0]
			if r.System != "nats" || r.Fsync != tc.fsync || r.Errors != 0 {
				t.Fatalf("result %+v", r)
			}
			if tc.steps == nil && r.Msgs != tc.msgs {
				t.Fatalf("measured %d messages, want %d", r.Msgs, tc.msgs)
			}
			if len(r.Steps) != len(tc.steps) {
				t.Fatalf("steps %+v", r.Steps)
			}
			if !strings.Contains(rep.Target.Version, "2.15.2") {
				t.Fatalf("version %q", rep.Target.Version)
			}
		})
	}
}

// The configuration reaches JetStream: "always" syncs every write,
// "interval" keeps the 2-minute default.
func TestDurabilityReachesJetStream(t *testing.T) {
	ctx := context.Background()
	tg, err := New(Options{Embedded: true, DataDir: t.TempDir(), Fsync: perf.FsyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tg.Close(ctx) }()
	check := func(always bool, interval time.Duration) {
		t.Helper()
		tg.mu.Lock()
		js := tg.mu.srv.JetStreamConfig()
		tg.mu.Unlock()
		if js == nil || js.SyncAlways != always || js.SyncInterval != interval {
			t.Fatalf("JetStream config %+v, want SyncAlways %v, SyncInterval %v", js, always, interval)
		}
	}
	check(true, 2*time.Minute)
	if err := tg.Restart(ctx, perf.FsyncInterval); err != nil {
		t.Fatal(err)
	}
	check(false, 2*time.Minute)
	if info := tg.Info(); info.Fsync != perf.FsyncInterval || !strings.Contains(info.Config, "store_dir") {
		t.Fatalf("info %+v", info)
	}
}

func TestServerConf(t *testing.T) {
	always, err := serverConf(perf.FsyncAlways, "/d")
	if err != nil || !strings.Contains(always, "sync_interval: always") {
		t.Fatalf("always: %q %v", always, err)
	}
	def, err := serverConf(perf.FsyncInterval, "/d")
	if err != nil || strings.Contains(def, "sync_interval") {
		t.Fatalf("interval must keep JetStream's default: %q %v", def, err)
	}
	if _, err := serverConf("sometimes", "/d"); err == nil {
		t.Fatal("unknown fsync accepted")
	}
}
