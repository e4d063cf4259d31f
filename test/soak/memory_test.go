package soak

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// Environment of the soak (see the Makefile's soak-memory target).
const (
	envNode     = "SWARMMQ_SOAK_NODE"     // path of the node binary; unset skips
	envDuration = "SWARMMQ_SOAK_DURATION" // per hostile pattern, default 60s
	envBase     = "SWARMMQ_SOAK_BASE"     // the pair alone, default 15s
	envPatterns = "SWARMMQ_SOAK_PATTERNS" // default "A,B,A+B"
	envProfile  = "SWARMMQ_SOAK_PROFILE"  // a directory: /metrics and a heap profile of each phase go there
	envTrace    = "SWARMMQ_SOAK_TRACE"    // with envProfile: also a 1s execution trace of each phase
	envHostile  = "SWARMMQ_SOAK_HOSTILE"  // set by the soak in its hostile child process: "pattern addr duration phase"
	cooldown    = 5 * time.Second
	goodSize    = 128
)

// pair is the well-behaved producer and consumer; it counts what each did.
type pair struct {
	published, consumed atomic.Int64
}

// TestSoakMemory runs the memory soak of docs/perf.md: the well-behaved pair
// alone, then under each hostile pattern, each followed by a cooldown and
// the pair alone again; for each pattern it logs the node's RSS peak, the
// pair's throughput against its throughput alone at the start (pair_ratio)
// and against the mean of its throughput alone just before and just after
// the pattern (pair_ratio_local: on a machine whose load drifts, the fairer
// comparison), and the p99 of /health.
func TestSoakMemory(t *testing.T) {
	bin := os.Getenv(envNode)
	if bin == "" {
		t.Skip(envNode + " is not set; run `make soak-memory`")
	}
	dur, base := envDur(t, envDuration, time.Minute), envDur(t, envBase, 15*time.Second)
	patterns := strings.Split(envOr(envPatterns, "A,B,A+B"), ",")
	p := startNode(t, bin)
	pid := p.cmd.Process.Pid
	prefill(t, p.addr)
	ctx, cancel := context.WithCancel(context.Background())
	var pairWG sync.WaitGroup
	defer func() { cancel(); pairWG.Wait() }()
	var pr pair
	runPair(ctx, t, &pairWG, p.addr, &pr)
	alone := phase(t, p, &pr, "alone", base, nil)
	before := alone
	for i, pat := range patterns {
		got := phase(t, p, &pr, pat, dur, func(ctx context.Context, wg *sync.WaitGroup, st *hostileStats) {
			runHostileChild(t, wg, pat, p.addr, dur, i, st)
		})
		t.Logf("RESULT pattern=%s rss_peak_mib=%.0f pair_ratio=%.2f health_p99_ms=%.1f",
			pat, got.rssMiB, got.rate/alone.rate, got.p99ms)
		cur, _, _ := rss(pid)
		phase(t, p, &pr, "cooldown after "+pat, cooldown, nil)
		after, _, _ := rss(pid)
		t.Logf("RESULT pattern=%s rss_end_mib=%.0f rss_after_cooldown_mib=%.0f", pat, mib(cur), mib(after))
		again := phase(t, p, &pr, "alone after "+pat, base, nil)
		t.Logf("RESULT pattern=%s pair_ratio_local=%.2f (against the pair alone just before and after: %.0f, %.0f msg/s)",
			pat, 2*got.rate/(before.rate+again.rate), before.rate, again.rate)
		before = again
	}
}

// TestSoakHostile is the soak's hostile child process (see
// runHostileChild): it runs a pattern against a node for a duration and
// prints what it did.
func TestSoakHostile(t *testing.T) {
	spec := strings.Fields(os.Getenv(envHostile))
	if len(spec) != 4 {
		t.Skip(envHostile + " is not set: only TestSoakMemory runs this")
	}
	d, err := time.ParseDuration(spec[2])
	if err != nil {
		t.Fatal(err)
	}
	ph, err := strconv.Atoi(spec[3])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var st hostileStats
	if strings.Contains(spec[0], "A") {
		runPublishers(ctx, &wg, spec[1], hostileIP(ph, 'A'), &st)
	}
	if strings.Contains(spec[0], "B") {
		runFetchers(ctx, &wg, spec[1], hostileIP(ph, 'B'), &st)
	}
	wg.Wait()
	fmt.Printf("HOSTILE conns=%d requests=%d refused=%d\n", st.conns.Load(), st.requests.Load(), st.refused.Load()) //nolint:forbidigo // read by the parent
}

// runHostileChild runs the hostile clients of pattern, the phase'th phase,
// in a child process
// (this test binary, TestSoakHostile) limited to one CPU (GOMAXPROCS=1),
// as clients on other machines would not run on the node's: on a 2-core
// box, clients in the soak's own process starved the node, the pair and
// the /health prober alike.
func runHostileChild(t *testing.T, wg *sync.WaitGroup, pattern, addr string, d time.Duration, phase int, st *hostileStats) {
	// The child stops by itself after d; the phase waits for it.
	cmd := exec.Command(os.Args[0], "-test.run=^TestSoakHostile$", "-test.v=false")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", envHostile+"="+pattern+" "+addr+" "+d.String()+" "+strconv.Itoa(phase))
	wg.Go(func() {
		out, err := cmd.Output()
		var conns, reqs, refused int64
		for _, line := range strings.Split(string(out), "\n") {
			if _, serr := fmt.Sscanf(line, "HOSTILE conns=%d requests=%d refused=%d", &conns, &reqs, &refused); serr == nil {
				st.conns.Store(conns)
				st.requests.Store(reqs)
				st.refused.Store(refused)
			}
		}
		if err != nil {
			t.Errorf("hostile child: %v\n%s", err, out)
		}
	})
}

// phaseResult is what one phase measured.
type phaseResult struct {
	rssMiB float64
	rate   float64 // messages consumed per second by the pair
	p99ms  float64
}

// phase runs hostile (nil: none) for d and measures the node meanwhile.
func phase(t *testing.T, p *proc, pr *pair, name string, d time.Duration,
	hostile func(context.Context, *sync.WaitGroup, *hostileStats)) phaseResult {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var st hostileStats
	peak := rssPeak(ctx, &wg, p.cmd.Process.Pid)
	lat := healthLatencies(ctx, &wg, p.httpAddr)
	pub0, con0 := pr.published.Load(), pr.consumed.Load()
	start := time.Now()
	if hostile != nil {
		hostile(ctx, &wg, &st)
	}
	if dir := os.Getenv(envProfile); dir != "" {
		snapshot(ctx, &wg, p.httpAddr, filepath.Join(dir, strings.ReplaceAll(name, " ", "-")), d*4/5)
	}
	<-ctx.Done()
	wg.Wait()
	secs := time.Since(start).Seconds()
	r := phaseResult{rssMiB: mib(peak()), rate: float64(pr.consumed.Load()-con0) / secs,
		p99ms: float64(quantile(lat(), 0.99).Microseconds()) / 1000}
	t.Logf("phase %-22s %5.1fs rss_peak=%4.0fMiB pair published=%8.0f/s consumed=%8.0f/s health_p99=%6.1fms hostile conns=%d requests=%d refused=%d",
		name, secs, r.rssMiB, float64(pr.published.Load()-pub0)/secs, r.rate, r.p99ms, st.conns.Load(), st.requests.Load(), st.refused.Load())
	return r
}

// runPair starts the well-behaved producer (a Publisher, window 1000, 128-byte
// messages) and consumer (Consume with acks) on destination "good".
func runPair(ctx context.Context, t *testing.T, wg *sync.WaitGroup, addr string, pr *pair) {
	prod, err := client.Dial(ctx, client.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := client.Dial(ctx, client.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		defer prod.Close()
		pub, err := prod.NewPublisher("good", client.PublisherOptions{Window: 1000})
		if err != nil {
			t.Error(err)
			return
		}
		payload := make([]byte, goodSize)
		for ctx.Err() == nil {
			_ = pub.Publish(ctx, payload, func(r client.PublishResult) {
				if r.Err == nil {
					pr.published.Add(1)
				}
			})
		}
		_ = pub.Close(context.Background())
	})
	wg.Go(func() {
		defer cons.Close()
		_ = cons.Consume(ctx, "good", "good", client.ConsumeOptions{}, func(_ context.Context, ds []client.Delivery) error {
			pr.consumed.Add(int64(len(ds)))
			return nil
		})
	})
}

// prefill stores the messages pattern B fetches: 1,024 of 64 KiB.
func prefill(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	batch := make([][]byte, 15)
	for i := range batch {
		batch[i] = make([]byte, publishSize)
	}
	for n := 0; n < 1024; n += len(batch) {
		if _, err := c.Publish(ctx, destB, batch...); err != nil {
			t.Fatal(err)
		}
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envDur(t *testing.T, key string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(envOr(key, def.String()))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return d
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
