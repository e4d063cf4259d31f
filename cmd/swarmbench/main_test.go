package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/swarmmq/swarmmq/perf"
	"github.com/swarmmq/swarmmq/perf/report"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet's worker pool starts these at init and keeps them.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

func TestNatsArgs(t *testing.T) {
	got := natsArgs([]string{"run", "--target", "nats", "--nats-bench", "/x/natsbench", "-w", "e2e", "--nats-bench=/y", "--embedded"})
	want := []string{"run", "--target", "nats", "-w", "e2e", "--embedded"}
	if !slices.Equal(got, want) {
		t.Fatalf("natsArgs = %q, want %q", got, want)
	}
}

func TestRunAndReport(t *testing.T) {
	out := t.TempDir()
	args := []string{"swarmbench", "--embedded", "-w", "publish", "--msgs", "500"}
	r := runCmd{Config: perf.Config{Workload: perf.WorkPublish, Target: "swarmmq", Embedded: true, Fsync: perf.FsyncAlways,
		Msgs: 500, Warmup: 10 * time.Millisecond, Out: out, DataDir: t.TempDir()}}
	var stdout, stderr bytes.Buffer
	if err := r.run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "publish-ack") {
		t.Fatalf("table:\n%s", stdout.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 1 {
		t.Fatalf("result files %v", files)
	}
	docs := filepath.Join(t.TempDir(), "docs")
	if err := report.Write(docs, files, "swarmbench ...", &stderr); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(docs, "README.md"))
	if err != nil || !strings.Contains(string(md), "| ack after fsync | publish |") {
		t.Fatalf("README: %v\n%s", err, md)
	}
}
