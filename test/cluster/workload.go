package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// Defaults of WorkloadOptions.
const (
	DefaultProducers   = 3
	DefaultRate        = 300 // messages a second per producer
	DefaultPayloadSize = 64
	DefaultDrain       = 45 * time.Second
	DefaultFetchMax    = 100
)

// WorkloadOptions configures a Workload. Zero fields mean the defaults.
type WorkloadOptions struct {
	// Addrs are the client addresses of the nodes (the seeds); required.
	Addrs []string
	// Locate, when set, names the node a worker of a destination dials
	// ("" when it does not know; then the seeds are tried in turn), and
	// a worker whose node turns out to be the wrong one, or that Locate
	// no longer names, dials again (locate.go). It must not block
	// (Locator.Locate). Set it while the client does not follow leaders.
	Locate func(ctx context.Context, dest string) string
	// SeedList dials every worker with all of Addrs, comma-separated, as
	// the client's seeds (for a client that follows partition leaders by
	// itself); Locate is then not used.
	SeedList bool
	// Producers is how many producers publish (default DefaultProducers),
	// each a Client of its own, so a producer session of its own;
	// producer i publishes to Dests[i % len(Dests)].
	Producers int
	// Dests are the destinations (default chaos-0, chaos-1, chaos-2).
	Dests []string
	// Groups are the consumer groups (default g0, g1); each has one
	// consumer, a Client of its own, per destination.
	Groups []string
	// Rate is the messages a second each producer publishes at most
	// (default DefaultRate).
	Rate int
	// Messages bounds the messages of each producer (0: no bound but
	// Duration).
	Messages int
	// Duration bounds the production; required.
	Duration time.Duration
	// PayloadSize is the payload size in bytes, at least the id's
	// (default DefaultPayloadSize).
	PayloadSize int
	// Drain bounds the final drain (default DefaultDrain).
	Drain time.Duration
	// Client is the template of every Client's options (Addr and ClientID
	// are set by the workload); its zero value is the client's defaults,
	// retries included.
	Client client.Options
}

func (o *WorkloadOptions) ensureDefaults() {
	if o.Producers == 0 {
		o.Producers = DefaultProducers
	}
	if len(o.Dests) == 0 {
		o.Dests = []string{"chaos-0", "chaos-1", "chaos-2"}
	}
	if len(o.Groups) == 0 {
		o.Groups = []string{"g0", "g1"}
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.PayloadSize == 0 {
		o.PayloadSize = DefaultPayloadSize
	}
	if o.Drain == 0 {
		o.Drain = DefaultDrain
	}
	if o.Client.Logger == nil {
		o.Client.Logger = slog.New(slog.DiscardHandler)
	}
}

// Workload publishes and consumes through the Go client while faults hit
// the nodes, and records everything in a Recorder. Start it, wait for
// Produced, Drain, then Stop. Its methods are called from one goroutine.
type Workload struct {
	opts WorkloadOptions
	rec  *Recorder

	cancel   context.CancelFunc // stops the consumers
	produced chan struct{}
	wg       sync.WaitGroup

	mu struct {
		sync.Mutex
		acked     map[destID]bool
		confirmed map[string]map[destID]bool // by group
	}
}

// NewWorkload returns a workload recording into a new Recorder.
func NewWorkload(opts WorkloadOptions) *Workload {
	opts.ensureDefaults()
	w := &Workload{opts: opts, rec: NewRecorder(opts.Groups), produced: make(chan struct{})}
	w.mu.acked = map[destID]bool{}
	w.mu.confirmed = map[string]map[destID]bool{}
	for _, g := range opts.Groups {
		w.mu.confirmed[g] = map[destID]bool{}
	}
	return w
}

// Recorder is where the workload records.
func (w *Workload) Recorder() *Recorder { return w.rec }

// Start starts one consumer per group and destination, waits until each
// has fetched once (so every group exists before the first message and
// must receive every one), then starts the producers. Production ends
// after Duration (or Messages each) or when ctx ends; Produced is closed
// once every publish has its result.
func (w *Workload) Start(ctx context.Context) error {
	if w.opts.Duration <= 0 || len(w.opts.Addrs) == 0 {
		return errors.New("cluster: a workload needs Addrs and a positive Duration")
	}
	cctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	ready := make(chan struct{}, len(w.opts.Groups)*len(w.opts.Dests))
	for _, g := range w.opts.Groups {
		for _, d := range w.opts.Dests {
			c := &consumer{w: w, group: g, dest: d}
			w.wg.Go(func() { c.run(cctx, ready) })
		}
	}
	for range len(w.opts.Groups) * len(w.opts.Dests) {
		select {
		case <-ready:
		case <-ctx.Done():
			return fmt.Errorf("cluster: consumers not ready: %w", ctx.Err())
		}
	}
	pctx, pcancel := context.WithTimeout(ctx, w.opts.Duration)
	var pwg sync.WaitGroup
	for i := range w.opts.Producers {
		p := &producer{w: w, name: fmt.Sprintf("p%d", i), dest: w.opts.Dests[i%len(w.opts.Dests)]}
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			p.run(pctx, ctx)
		}()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer pcancel()
		pwg.Wait()
		close(w.produced)
	}()
	return nil
}

// Produced is closed when the producers have stopped and every publish
// has its result.
func (w *Workload) Produced() <-chan struct{} { return w.produced }

// Drain waits until every group confirmed every acknowledged publish, or
// Drain passed, or ctx ended; it reports how many (group, message) pairs
// were left.
func (w *Workload) Drain(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, w.opts.Drain)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		left := w.unconfirmed()
		if left == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return left
		case <-tick.C:
		}
	}
}

func (w *Workload) unconfirmed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	left := 0
	for k := range w.mu.acked {
		for _, g := range w.opts.Groups {
			if !w.mu.confirmed[g][k] {
				left++
			}
		}
	}
	return left
}

// Stop stops the consumers (and the producers if still running) and
// waits for every goroutine of the workload.
func (w *Workload) Stop() {
	if w.cancel != nil {
		w.cancel()
	}
	w.wg.Wait()
}

// dial dials a node for a worker of dest until it succeeds or ctx ends,
// recording each failure; it returns the client and the address dialled.
func (w *Workload) dial(ctx context.Context, who, dest string, opts client.Options) (*client.Client, string, error) {
	opts.ClientID = "chaos-" + strings.NewReplacer(" ", "-", "/", "-").Replace(who)
	opts.Logger = opts.Logger.With("worker", who)
	pause := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		opts.Addr = w.addrFor(ctx, dest, attempt)
		c, err := client.Dial(ctx, opts)
		if err == nil {
			return c, opts.Addr, nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		w.rec.Error(who, "dial", err)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, "", ctx.Err()
		}
		pause = min(2*pause, time.Second)
	}
}

// payloadID returns the id a payload starts with (up to '|').
func payloadID(p []byte) string {
	s := string(p)
	if i := strings.IndexByte(s, '|'); i >= 0 {
		return s[:i]
	}
	return s
}

// isClosed reports an error of a Client that gave up.
func isClosed(err error) bool { return errors.Is(err, client.ErrClosed) }
