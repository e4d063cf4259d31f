package perf

import (
	"errors"
	"fmt"
	"time"
)

// Workloads, the values of Config.Workload.
const (
	// WorkPublish publishes asynchronously in batches: up to Window
	// messages unacknowledged per producer. Latency: send → publish ack.
	WorkPublish = "publish"
	// WorkPublishSync publishes one message at a time per producer and
	// waits for its ack. Latency: send → publish ack.
	WorkPublishSync = "publish-sync"
	// WorkConsume consumes a pre-filled destination: fetch, then ack the
	// batch without waiting for the confirmation (at most AckWindow acks
	// outstanding). No latency (throughput only).
	WorkConsume = "consume"
	// WorkConsumeConfirmed consumes a pre-filled destination and waits for
	// the confirmation of each batch's acks before the next fetch.
	// Latency: ack sent → ack confirmed.
	WorkConsumeConfirmed = "consume-confirmed"
	// WorkE2E publishes (as WorkPublish) and consumes (as WorkConsume) at
	// once. Latency: the producer's send time carried in the payload → the
	// consumer's receipt.
	WorkE2E = "e2e"
)

// Workloads lists every workload in the order reports show them.
var Workloads = []string{WorkPublish, WorkPublishSync, WorkConsume, WorkConsumeConfirmed, WorkE2E}

// Durability values of Config.Fsync.
const (
	// FsyncAlways: an ack means the data is on disk (SwarmMQ fsync
	// "always"; JetStream sync_interval "always").
	FsyncAlways = "always"
	// FsyncInterval: the broker syncs periodically (SwarmMQ fsync
	// "interval", every FsyncInterval; JetStream's default, every 2 min).
	FsyncInterval = "interval"
)

// Defaults of Config.
const (
	DefaultSize = 128
	// DefaultWindow is the publish window of both systems. nats.go's own
	// default (PublishAsyncMaxPending) is 4000, but JetStream with
	// sync_interval always then acknowledged in bursts 1–2 s apart, so a
	// 1 s measurement saw one burst or nothing; 1000 keeps the comparison
	// meaningful. SwarmMQ at 4000: docs/perf.md.
	DefaultWindow         = 1000
	DefaultAckWindow      = 8
	DefaultFetches        = 2
	DefaultFetchBatch     = 100
	DefaultDuration       = 2 * time.Second
	DefaultWarmup         = 300 * time.Millisecond
	DefaultConsumeMsgs    = 200_000
	DefaultStepDuration   = time.Second
	DefaultDrainTimeout   = 10 * time.Second
	DefaultFsyncInterval  = 50 * time.Millisecond
	DefaultProfileSeconds = 0 // 0: the measured duration
	// MinSize is the smallest payload: it carries the send time.
	MinSize = stampSize
)

// Config is one benchmark run: the command-line schema shared by
// swarmbench and natsbench (kong reads the tags; this package does not
// import kong). Zero values mean the defaults. It is a plain value, not
// safe for concurrent mutation.
type Config struct {
	Workload string `help:"Workload: publish, publish-sync, consume, consume-confirmed or e2e." short:"w" default:"publish" enum:"publish,publish-sync,consume,consume-confirmed,e2e"`
	Target   string `help:"System under test: swarmmq or nats." default:"swarmmq" enum:"swarmmq,nats"`
	Addr     string `help:"Address of a running broker (host:port; for a SwarmMQ cluster, a comma-separated list of its nodes); empty with --embedded."`
	Embedded bool   `help:"Start the broker in this process, on a temporary directory (or --data-dir)."`
	DataDir  string `help:"Data directory of the embedded broker (default: a new temporary directory, removed afterwards)." type:"path"`

	Fsync         string        `help:"Durability of the embedded broker: always (ack = fsynced) or interval (SwarmMQ: fsync every --fsync-interval; NATS: JetStream's default)." default:"always" enum:"always,interval"`
	FsyncInterval time.Duration `help:"SwarmMQ fsync interval under --fsync=interval." default:"50ms"`

	Msgs      int64         `help:"Messages to measure in all (0: until --duration; consume workloads pre-fill this many, default 200000)."`
	Size      int           `help:"Payload bytes per message (at least 8: the send time)." default:"128"`
	Batch     int           `help:"Messages per fetch (consume, e2e; default 100); most messages per PUBLISH frame (SwarmMQ publish; default: the client's, window/4 and at least 256)."`
	Window    int           `help:"Publish: messages unacknowledged per producer." default:"1000"`
	AckWindow int           `help:"consume, e2e: ack requests not yet confirmed per consumer before a fetch waits." default:"8"`
	Fetches   int           `help:"consume, e2e: fetches in flight per consumer (SwarmMQ: that many fetch loops share the connection; NATS: its Consume pipelines pulls itself, consume-confirmed runs that many fetch-ack loops)." default:"2"`
	Producers int           `help:"Producers, each on its own connection." default:"1"`
	Consumers int           `help:"Consumers (one group, competing), each on its own connection." default:"1"`
	Duration  time.Duration `help:"How long to measure (0: until --msgs)." default:"2s"`
	Warmup    time.Duration `help:"Publish and e2e: send for this long before measuring." default:"300ms"`
	Rate      float64       `help:"Open loop: offered msgs/s in all, on a fixed schedule (0: closed loop, as fast as acks allow)."`

	Steps        []int         `help:"Open-loop curve: offered load in percent of --max-rate, e.g. 10,30,50,70,90,100 (publish, publish-sync, e2e)." sep:","`
	StepDuration time.Duration `help:"Duration of each curve step." default:"1s"`
	MaxRate      float64       `help:"The 100% of --steps in msgs/s (0: measure it first, closed loop, for --duration)."`
	DrainTimeout time.Duration `help:"How long to wait for outstanding acks and deliveries after sending stops." default:"10s"`

	Out       string `help:"Directory for the result files <name>.json and <name>.csv (and profiles); empty: stdout only." type:"path"`
	Name      string `help:"Stem of the result files (default <target>-<fsync>-<workload>[-curve])."`
	Label     string `help:"Free text recorded with the results (e.g. the round of a comparison)."`
	PprofAddr string `help:"HTTP address of the node's /debug/pprof: grab a CPU profile during the measurement and a heap profile after it, saved in --out. 'embedded' uses the embedded node's (the profile then includes the load generator)."`

	// Args is the exact command line, recorded in the results (set by the
	// command, not a flag).
	Args []string `kong:"-"`
}

// EnsureDefaults replaces zero fields by their defaults.
func (c *Config) EnsureDefaults() {
	if c.Workload == "" {
		c.Workload = WorkPublish
	}
	if c.Fsync == "" {
		c.Fsync = FsyncAlways
	}
	if c.FsyncInterval == 0 {
		c.FsyncInterval = DefaultFsyncInterval
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.AckWindow == 0 {
		c.AckWindow = DefaultAckWindow
	}
	if c.Fetches == 0 {
		c.Fetches = DefaultFetches
	}
	if c.Producers == 0 {
		c.Producers = 1
	}
	if c.Consumers == 0 {
		c.Consumers = 1
	}
	if c.StepDuration == 0 {
		c.StepDuration = DefaultStepDuration
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.consumeOnly() && c.Msgs == 0 {
		c.Msgs = DefaultConsumeMsgs
	}
	if c.Msgs == 0 && c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Name == "" {
		c.Name = c.Target + "-" + c.Fsync + "-" + c.Workload
		if len(c.Steps) > 0 {
			c.Name += "-curve"
		}
	}
}

// consumeOnly reports whether the workload consumes a pre-filled
// destination.
func (c *Config) consumeOnly() bool {
	return c.Workload == WorkConsume || c.Workload == WorkConsumeConfirmed
}

// FetchBatch returns the messages per fetch.
func (c *Config) FetchBatch() int {
	if c.Batch > 0 {
		return c.Batch
	}
	return DefaultFetchBatch
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("perf: "+format, args...)) }
	known := false
	for _, w := range Workloads {
		known = known || w == c.Workload
	}
	if !known {
		bad("unknown workload %q", c.Workload)
	}
	if c.Fsync != FsyncAlways && c.Fsync != FsyncInterval {
		bad("fsync %q must be %q or %q", c.Fsync, FsyncAlways, FsyncInterval)
	}
	if c.Embedded == (c.Addr != "") {
		bad("give either --addr (a running broker) or --embedded")
	}
	if c.Size < MinSize {
		bad("size %d is below %d bytes (the payload carries its send time)", c.Size, MinSize)
	}
	for name, v := range map[string]int{"window": c.Window, "ack window": c.AckWindow, "fetches": c.Fetches, "producers": c.Producers, "consumers": c.Consumers} {
		if v < 1 {
			bad("%s %d must be at least 1", name, v)
		}
	}
	if c.Batch < 0 {
		bad("batch %d must not be negative", c.Batch)
	}
	if c.Msgs < 0 || c.Duration < 0 || c.Warmup < 0 || c.Rate < 0 || c.MaxRate < 0 {
		bad("msgs, duration, warmup, rate and max rate must not be negative")
	}
	if c.Msgs == 0 && c.Duration == 0 {
		bad("give --msgs or --duration")
	}
	if len(c.Steps) > 0 && c.consumeOnly() {
		bad("curves (--steps) apply to publish, publish-sync and e2e, not %s", c.Workload)
	}
	if len(c.Steps) > 0 && c.Rate > 0 {
		bad("--rate and --steps exclude each other (--max-rate sets the curve's 100%%)")
	}
	for _, s := range c.Steps {
		if s < 1 || s > 1000 {
			bad("step %d%% out of range 1..1000", s)
		}
	}
	if c.PprofAddr != "" && c.Out == "" {
		bad("--pprof-addr needs --out (where the profiles go)")
	}
	return errors.Join(errs...)
}
