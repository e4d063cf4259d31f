// Command swarmbench measures SwarmMQ: throughput and latency of one
// workload, or an open-loop latency/throughput curve, against a running
// node or a node it starts in process; and merges result files into the
// comparison in docs/perf.
//
//	swarmbench --embedded --workload publish --duration 2s                  # async batched publish, fsync always
//	swarmbench --embedded --fsync interval -w e2e --steps 10,50,90,100       # a curve
//	swarmbench --addr 127.0.0.1:9001 --pprof-addr 127.0.0.1:8080 --out /tmp/r -w publish
//	swarmbench --target nats --embedded -w publish                          # runs natsbench (same flags)
//	swarmbench report --out docs/perf /tmp/runs/*.json
//
// Results go to stdout as a table and, with --out, to <name>.json and
// <name>.csv. NATS JetStream lives in its own module (perf/natspeer) to keep
// it out of the node's dependencies: --target nats runs its natsbench
// binary, found next to this one unless --nats-bench says where.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/cmd/internal/version"
	"github.com/swarmmq/swarmmq/perf"
	"github.com/swarmmq/swarmmq/perf/report"
	"github.com/swarmmq/swarmmq/perf/swarm"
)

// closeTimeout bounds closing the target.
const closeTimeout = 30 * time.Second

type cli struct {
	Run    runCmd    `cmd:"" default:"withargs" help:"Run one workload (the default command)."`
	Report reportCmd `cmd:"" help:"Merge result files into results.json, results.csv, curves.svg and README.md."`
}

type runCmd struct {
	perf.Config `embed:""`
	NatsBench   string `help:"The natsbench binary that --target nats runs (default: natsbench next to this binary)." type:"path"`
}

type reportCmd struct {
	Out       string   `help:"Directory to write into." required:"" type:"path"`
	Reproduce string   `help:"The command that reproduces the comparison, quoted in README.md."`
	Cluster   bool     `xor:"kind" help:"The runs compare a cluster (an external target) with one embedded node (perf/cluster.sh), not SwarmMQ with NATS."`
	AB        bool     `name:"ab" xor:"kind" help:"The runs compare two builds of SwarmMQ, labelled base and head (perf/ab.sh), not SwarmMQ with NATS."`
	Files     []string `arg:"" help:"Result files (.json) written by swarmbench and natsbench." type:"existingfile"`
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("swarmbench"),
		kong.Description("Benchmark SwarmMQ (and NATS JetStream side by side): throughput, latency, open-loop curves."),
		kong.UsageOnError(),
		kong.Embed(&version.Flag{}), version.Vars("swarmbench"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch kctx.Command() {
	case "report <files>":
		write := report.Write
		switch {
		case c.Report.Cluster:
			write = report.WriteCluster
		case c.Report.AB:
			write = report.WriteAB
		}
		err = write(c.Report.Out, c.Report.Files, c.Report.Reproduce, os.Stderr)
	default:
		err = c.Run.run(ctx, os.Args, os.Stdout, os.Stderr)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "swarmbench:", err)
		stop()
		os.Exit(1)
	}
}

// run runs the workload; args is the command line, recorded in the
// results.
func (r *runCmd) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := r.Config
	cfg.Args = args
	if cfg.Target == "nats" {
		return r.runNats(ctx, natsArgs(args[1:]), stdout, stderr)
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	t, err := swarm.New(swarm.Options{Addr: cfg.Addr, Embedded: cfg.Embedded, DataDir: cfg.DataDir,
		Fsync: cfg.Fsync, FsyncInterval: cfg.FsyncInterval, HTTP: cfg.PprofAddr == "embedded", HealthAddr: healthAddr(cfg)})
	if err != nil {
		return err
	}
	if cfg.PprofAddr == "embedded" {
		cfg.PprofAddr = t.PprofAddr()
	}
	err = perf.RunAndReport(ctx, cfg, t, stdout, stderr)
	cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return errors.Join(err, t.Close(cctx))
}

// healthAddr returns the running node's HTTP address, if known.
func healthAddr(cfg perf.Config) string {
	if cfg.Embedded || cfg.PprofAddr == "embedded" {
		return ""
	}
	return cfg.PprofAddr
}

// runNats runs natsbench with args.
func (r *runCmd) runNats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	bin := r.NatsBench
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		bin = filepath.Join(filepath.Dir(self), "natsbench")
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("--target nats needs the natsbench binary (build it: cd perf/natspeer && go build -o ../../bin/ ./cmd/natsbench): %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

// natsArgs returns the arguments for natsbench: these, without
// --nats-bench, which only swarmbench knows.
func natsArgs(args []string) []string {
	var out []string
	skip := false
	for _, a := range args {
		switch {
		case skip:
			skip = false
		case a == "--nats-bench":
			skip = true
		case strings.HasPrefix(a, "--nats-bench="):
		default:
			out = append(out, a)
		}
	}
	return out
}
