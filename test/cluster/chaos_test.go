package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// plan is the shape of a chaos run.
type plan struct {
	// Duration is how long the producers publish; faults come during it.
	Duration time.Duration
	// Rate is each producer's messages a second.
	Rate int
	// Every and Jitter space the faults: each comes Every + [0, Jitter)
	// after the previous one healed.
	Every, Jitter time.Duration
	// Kinds are the faults, taken in turn, or at random with Rand.
	Kinds []FaultKind
	// Pause and PauseJitter are how long a paused node stays stopped.
	Pause, PauseJitter time.Duration
	// Rand draws kinds and times when not nil.
	Rand *rand.Rand
	// Nodes, when above 1, runs a cluster of that many nodes (Kinds are
	// then cluster faults, aimed at the workload's destinations in turn,
	// and Pause is how long each fault holds).
	Nodes int
	// After, when set, looks at the cluster once the faults are over.
	After func(*testing.T, *Cluster)
}

// runChaos starts one node, runs the workload through faults, drains,
// checks and logs the table. It fails the test on any violation.
func runChaos(t *testing.T, p plan) Report {
	t.Helper()
	opts := Options{Bin: nodeBin(t), Flags: []string{"--min-free", "0"}}
	wo := WorkloadOptions{Duration: p.Duration, Rate: p.Rate}
	if p.Nodes > 1 {
		opts.Nodes, opts.Cluster = p.Nodes, &ClusterSpec{}
		wo.Producers, wo.Client = 6, ClusterClient()
	}
	if path := os.Getenv("SWARMMQ_CHAOS_CLIENT_LOG"); path != "" {
		wo.Client.Logger = clientLog(t, path)
	}
	c := Start(t, opts)
	if p.Nodes > 1 {
		var err error
		if wo.Dests, err = c.SpreadDests(3); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.Duration+3*time.Minute)
	defer cancel()
	wo.Addrs = c.Addrs()
	switch {
	case p.Nodes > 1 && os.Getenv("SWARMMQ_CHAOS_LOCATE") == "1":
		// Routing by hand (locate.go), as before the client followed
		// leaders.
		l := c.StartLocator(100 * time.Millisecond)
		defer l.Stop()
		wo.Locate = l.Locate
	case p.Nodes > 1:
		// The client follows leaders: every worker gets every node.
		wo.SeedList = true
	}
	w := NewWorkload(wo)
	t.Cleanup(w.Stop) // before the nodes are killed (cleanups run last first)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	faults(ctx, t, c, w, p)
	c.HealAll()
	if p.After != nil {
		p.After(t, c)
	}
	for _, n := range c.Nodes {
		if !n.Running() {
			t.Fatalf("%s is down after the faults (log %s)", n.Spec.ID, n.Spec.LogFile)
		}
	}
	select {
	case <-w.Produced():
	case <-ctx.Done():
		t.Fatal("producers did not finish")
	}
	if left := w.Drain(ctx); left > 0 {
		t.Logf("drain ended with %d (group, message) pairs unconfirmed:\n%s", left, unconfirmedDetail(w.Recorder().History(), 10))
	}
	w.Stop()
	r := Check(w.Recorder().History())
	t.Logf("checker:\n%s", r.Table())
	if len(r.Lost) > 0 || len(r.Redelivered) > 0 || len(r.StoredTwice) > 0 || !r.OK() {
		t.Errorf("violations: %d lost, %d redelivered after a confirmed ack, %d stored twice, %d seq conflicts, %d unknown",
			len(r.Lost), len(r.Redelivered), len(r.StoredTwice), len(r.SeqConflicts), len(r.Unknown))
	}
	if r.Acked == 0 || r.Delivered == 0 {
		t.Errorf("the workload did nothing: %d acked, %d delivered", r.Acked, r.Delivered)
	}
	return r
}

// clientLog returns a logger that writes the workers' client logs to
// path (SWARMMQ_CHAOS_CLIENT_LOG), closed when the test ends.
func clientLog(t *testing.T, path string) *slog.Logger {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("SWARMMQ_CHAOS_CLIENT_LOG: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// faults injects faults into the nodes in turn until production ends.
func faults(ctx context.Context, t *testing.T, c *Cluster, w *Workload, p plan) {
	t.Helper()
	for i := 0; ; i++ {
		wait := p.Every
		if p.Rand != nil && p.Jitter > 0 {
			wait += time.Duration(p.Rand.Int64N(int64(p.Jitter)))
		}
		timer := time.NewTimer(wait)
		select {
		case <-w.Produced():
			timer.Stop()
			return
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		kind := p.Kinds[i%len(p.Kinds)]
		pause := p.Pause
		if p.Rand != nil {
			kind = p.Kinds[p.Rand.IntN(len(p.Kinds))]
			if p.PauseJitter > 0 {
				pause += time.Duration(p.Rand.Int64N(int64(p.PauseJitter)))
			}
		}
		var f Fault
		var err error
		if p.Nodes > 1 {
			dests := w.opts.Dests
			f, err = c.InjectCluster(ctx, kind, dests[i%len(dests)], pause)
		} else {
			f, err = Inject(ctx, c.Nodes[i%len(c.Nodes)], kind, pause)
		}
		w.Recorder().Fault(f)
		if err != nil {
			t.Errorf("fault %d: %v", i+1, err)
			return
		}
	}
}

// TestChaosShort runs the workload against one node process through a few
// faults of each kind a single node can take (kill -9 and restart, a pause
// with SIGSTOP/SIGCONT, a clean restart) and requires nothing lost,
// nothing redelivered after a confirmed ack and nothing stored twice. The
// outage is reported, not judged: with one node a fault stops everything
// until the node is back. SWARMMQ_SKIP_CHAOS=1 skips it.
func TestChaosShort(t *testing.T) {
	if os.Getenv("SWARMMQ_SKIP_CHAOS") != "" {
		t.Skip("SWARMMQ_SKIP_CHAOS is set")
	}
	r := runChaos(t, plan{
		Duration: 14 * time.Second, Rate: 300, Every: 1500 * time.Millisecond,
		Kinds: []FaultKind{FaultKill, FaultPause, FaultRestart}, Pause: time.Second,
	})
	kinds := map[FaultKind]int{}
	for _, o := range r.Outages {
		kinds[o.Kind]++
	}
	for _, k := range []FaultKind{FaultKill, FaultPause, FaultRestart} {
		if kinds[k] == 0 {
			t.Errorf("no %s fault in the run (machine too slow?): %v", k, kinds)
		}
	}
}

// minFaultsPerMinute is the fewest faults `make chaos` must inject per
// minute of its run: 50 in the ten minutes.
const minFaultsPerMinute = 5

// TestSlowChaos is `make chaos`: the workload through faults of mixed
// kinds at random times for CHAOS_DURATION (a Go duration; the test skips
// without it). CHAOS_SEED replays the choices of a run (not its timing),
// CHAOS_RATE sets each producer's messages a second (default 100),
// CHAOS_KINDS (comma-separated FaultKinds) narrows the mix, CHAOS_HOLD and
// CHAOS_HOLD_JITTER set how long a fault holds (default 1s plus up to 2s).
// Besides the checker's violations it fails when fewer than
// minFaultsPerMinute faults a minute were injected, or when a leader
// kill, pause or isolation (BoundedKinds) was followed by a publish outage
// longer than CHAOS_MAX_OUTAGE (default DefaultOutageBound; "off" reports
// only).
func TestSlowChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("long test")
	}
	d, err := time.ParseDuration(os.Getenv("CHAOS_DURATION"))
	if err != nil || d <= 0 {
		t.Skip("CHAOS_DURATION not set (make chaos sets it)")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED: %v", err)
		}
	}
	rate := 100
	if s := os.Getenv("CHAOS_RATE"); s != "" {
		if rate, err = strconv.Atoi(s); err != nil {
			t.Fatalf("CHAOS_RATE: %v", err)
		}
	}
	bound, err := outageBound(os.Getenv("CHAOS_MAX_OUTAGE"))
	if err != nil {
		t.Fatalf("CHAOS_MAX_OUTAGE: %v", err)
	}
	hold, err := envDuration("CHAOS_HOLD", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	holdJitter, err := envDuration("CHAOS_HOLD_JITTER", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kinds, err := parseKinds(os.Getenv("CHAOS_KINDS"))
	if err != nil {
		t.Fatalf("CHAOS_KINDS: %v", err)
	}
	t.Logf("CHAOS_SEED=%d CHAOS_DURATION=%v CHAOS_RATE=%d CHAOS_MAX_OUTAGE=%v CHAOS_HOLD=%v CHAOS_HOLD_JITTER=%v CHAOS_KINDS=%v",
		seed, d, rate, bound, hold, holdJitter, kinds)
	p := plan{
		Duration: d, Rate: rate, Every: 2 * time.Second, Jitter: 4 * time.Second,
		Kinds: []FaultKind{FaultKill, FaultPause, FaultRestart}, Pause: hold, PauseJitter: holdJitter,
		Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	// Five nodes: a fault every 1-4 s after the last one settled, held
	// 1-3 s (the election timeout is about 0.5 s).
	p.Nodes, p.Kinds, p.Every, p.Jitter = 5, kinds, time.Second, 3*time.Second
	r := runChaos(t, p)
	if want := int(d.Minutes() * minFaultsPerMinute); len(r.Outages) < want {
		t.Errorf("%d faults in %v, want at least %d (%d a minute)", len(r.Outages), d, want, minFaultsPerMinute)
	}
	if over := r.OverBound(BoundedKinds, bound); bound > 0 && len(over) > 0 {
		t.Errorf("%d publish outages over %v after a leader kill, pause or isolation:\n%s", len(over), bound, outageList(over))
	}
}

// outageBound reads CHAOS_MAX_OUTAGE: "" is DefaultOutageBound, "off" is
// 0 (no bound), else a Go duration.
func outageBound(s string) (time.Duration, error) {
	switch s {
	case "":
		return DefaultOutageBound, nil
	case "off":
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("%q is not a positive duration (\"off\" reports only)", s)
	}
	return d, err
}

// envDuration reads the Go duration in the environment variable name, def
// when it is unset.
func envDuration(name string, def time.Duration) (time.Duration, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration", name, s)
	}
	return d, nil
}

// parseKinds reads a comma-separated list of cluster fault kinds; ""
// is chaosKinds().
func parseKinds(s string) ([]FaultKind, error) {
	if s == "" {
		return chaosKinds(), nil
	}
	var out []FaultKind
	for k := range strings.SplitSeq(s, ",") {
		k := FaultKind(strings.TrimSpace(k))
		if !slices.Contains(ClusterKinds, k) && k != FaultWipeFollower {
			return nil, fmt.Errorf("unknown fault kind %q (known: %v)", k, ClusterKinds)
		}
		out = append(out, k)
	}
	return out, nil
}

// outageList lists outages, one a line.
func outageList(outs []Outage) string {
	var b strings.Builder
	for _, o := range outs {
		fmt.Fprintf(&b, "  %s %s at %v: %v (%s)\n", o.Kind, o.Node, o.At.Round(time.Millisecond),
			o.Longest.Round(time.Millisecond), o.Dest)
	}
	return b.String()
}

// chaosKinds are the faults of the mixed chaos runs: the cluster faults
// and the wipe of a follower (it rejoins as a new incarnation and catches
// up from its peers; it takes about as long as a follower's kill).
func chaosKinds() []FaultKind { return append(slices.Clone(ClusterKinds), FaultWipeFollower) }

// TestClusterWipeFollower runs the workload against five nodes through
// wipes of a follower of each destination's partition in turn: each must
// catch up from its peers (every node answers /ready again), and nothing
// acknowledged may be lost.
func TestClusterWipeFollower(t *testing.T) {
	runChaos(t, plan{
		Nodes: 5, Duration: 20 * time.Second, Rate: 100, Every: 500 * time.Millisecond,
		Kinds: []FaultKind{FaultWipeFollower}, Pause: time.Second,
	})
}

// TestClusterChaosShort runs the workload against five nodes (8
// partitions, 3 replicas each; three destinations on distinct partitions)
// through the cluster faults and the wipe in turn (chaosKinds), each aimed at one
// destination's leader or follower and held 1.2 s, and requires nothing
// lost, nothing redelivered after a confirmed ack, nothing stored twice,
// and every kind to have happened. The outage after each fault is logged,
// per fault and per kind.
func TestClusterChaosShort(t *testing.T) {
	if os.Getenv("SWARMMQ_SKIP_CHAOS") != "" {
		t.Skip("SWARMMQ_SKIP_CHAOS is set")
	}
	r := runChaos(t, plan{
		Nodes: 5, Duration: 60 * time.Second, Rate: 100, Every: 300 * time.Millisecond,
		Kinds: chaosKinds(), Pause: 1200 * time.Millisecond,
	})
	kinds := map[FaultKind]int{}
	for _, o := range r.Outages {
		kinds[o.Kind]++
	}
	for _, k := range chaosKinds() {
		if kinds[k] == 0 {
			t.Errorf("no %s fault in the run (machine too slow?): %v", k, kinds)
		}
	}
	// Reported, not enforced: on a loaded CI machine the outage is not
	// stable enough for a hard bound here (`make chaos` enforces it).
	if over := r.OverBound(BoundedKinds, DefaultOutageBound); len(over) > 0 {
		t.Logf("%d publish outages over %v after a leader kill, pause or isolation (not enforced here):\n%s",
			len(over), DefaultOutageBound, outageList(over))
	}
}

// unconfirmedDetail describes up to n acknowledged publishes some group
// has not confirmed: each delivery of it to that group (when, attempt,
// from which node's seq) and whether its ack was confirmed.
func unconfirmedDetail(h History, n int) string {
	confirmed := map[groupKey]bool{}
	deliveries := map[groupKey][]Delivery{}
	for _, d := range h.Deliveries {
		k := groupKey{d.Group, d.Dest, d.ID}
		deliveries[k] = append(deliveries[k], d)
		confirmed[k] = confirmed[k] || !d.Confirmed.IsZero()
	}
	var b strings.Builder
	shown := 0
	for _, p := range h.Publishes {
		if !p.Acked() {
			continue
		}
		for _, g := range h.Groups {
			k := groupKey{g, p.Dest, p.ID}
			if confirmed[k] || shown >= n {
				continue
			}
			shown++
			fmt.Fprintf(&b, "  %s %s/%s (acked seq %d at %s):", g, p.Dest, p.ID, p.Seq, p.At.Sub(h.Start).Round(time.Millisecond))
			if len(deliveries[k]) == 0 {
				b.WriteString(" never delivered")
			}
			for _, d := range deliveries[k] {
				fmt.Fprintf(&b, " [delivered seq %d attempt %d at %s]", d.Seq, d.Attempt, d.At.Sub(h.Start).Round(time.Millisecond))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
