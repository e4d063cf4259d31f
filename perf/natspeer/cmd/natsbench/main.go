// Command natsbench runs the workloads of swarmbench against NATS
// JetStream, with the same flags and the same result format, so that the
// two can be compared run for run:
//
//	natsbench --embedded --fsync always -w publish --duration 2s    # JetStream sync_interval: always
//	natsbench --embedded --fsync interval -w e2e --steps 10,50,90   # JetStream's default sync
//	natsbench --addr nats://127.0.0.1:4222 -w publish-sync
//
// It lives in its own module (perf/natspeer) so that nats-server stays out
// of SwarmMQ's dependencies; swarmbench --target nats runs it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/perf"
	"github.com/swarmmq/swarmmq/perf/natspeer"
)

// closeTimeout bounds closing the target.
const closeTimeout = 30 * time.Second

type cli struct {
	Run runCmd `cmd:"" default:"withargs" help:"Run one workload (the default command)."`
}

type runCmd struct {
	perf.Config `embed:""`
}

func main() {
	var c cli
	kong.Parse(&c,
		kong.Name("natsbench"),
		kong.Description("Run swarmbench's workloads against NATS JetStream (embedded nats-server, file storage)."),
		kong.UsageOnError())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, c.Run.Config)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "natsbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg perf.Config) error {
	cfg.Args = os.Args
	cfg.Target = "nats"
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		return errors.New("--pprof-addr profiles a SwarmMQ node; natsbench does not support it")
	}
	t, err := natspeer.New(natspeer.Options{URL: cfg.Addr, Embedded: cfg.Embedded, DataDir: cfg.DataDir, Fsync: cfg.Fsync})
	if err != nil {
		return err
	}
	err = perf.RunAndReport(ctx, cfg, t, os.Stdout, os.Stderr)
	cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return errors.Join(err, t.Close(cctx))
}
