package e2e

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
	"github.com/swarmmq/swarmmq/wal"
)

var (
	powerSeed = flag.Uint64("powerloss.seed", 0, "first seed of TestPowerLoss (0: from the clock)")
	powerRuns = flag.Int("powerloss.runs", 4, "crash runs of TestPowerLoss (seeds seed, seed+1, …)")
	powerSoak = flag.Duration("powerloss.soak", 0, "keep TestPowerLoss crashing nodes for this long (a soak)")
)

// Fixed shape of a power-loss run: its destinations, the consumer groups
// of each, and a bound on what each publisher sends.
var (
	plDests  = []string{"pl-a", "pl-b"}
	plGroups = []string{"g1", "g2"}
)

const plMaxPerPublisher = 20000

// TestPowerLoss cuts the power of a real node in the middle of a load and
// checks what survives. Each run starts a node in process on Pebble's
// crash-simulating in-memory file system (vfs.NewCrashableMem, every fsync
// delayed like a disk's), publishes through the client library's batched
// publisher and consumes with fetch and ack in two groups of two
// destinations, all concurrently. After a random number of
// acknowledgements it takes a CrashClone: the files as a power cut would
// leave them, with only the synced data, plus (in some runs) a random part
// of the unsynced data. A node started on the clone must then hold every
// message whose PUBLISH_ACK arrived before the cut exactly once, under its
// seq (a retry with its id is answered as a duplicate, a consumer gets it
// with that seq), and every ACK_OK'd ack (the group never gets that message
// again); nothing is stored twice; no group misses a message it did not
// ack. With fsync: interval, only what was acknowledged after the interval
// sync counter (swarmmq_wal_interval_syncs_total) reached n-1, n being its
// value at the cut, may be missing.
//
// Runs alternate fsync always and interval; the other choices (partitions,
// snapshot frequency, message cache, sync latency, crash point, unsynced
// data kept) come from the run's seed, logged: -powerloss.seed=S with
// -powerloss.runs=1 replays the choices of run S (not the thread
// interleaving). -powerloss.soak=10m keeps crashing for ten minutes.
func TestPowerLoss(t *testing.T) {
	seed := *powerSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("first seed %d (rerun one run with -powerloss.seed=S -powerloss.runs=1)", seed)
	soakEnd := time.Now().Add(*powerSoak)
	for i := 0; i < *powerRuns || time.Now().Before(soakEnd); i++ {
		cfg := newPowerConfig(seed + uint64(i))
		if !t.Run(fmt.Sprintf("seed=%d", cfg.seed), func(t *testing.T) { runPowerLoss(t, cfg) }) {
			return
		}
	}
}

// powerConfig is the random shape of one run.
type powerConfig struct {
	seed          uint64
	sync          wal.SyncPolicy
	interval      time.Duration // fsync interval
	partitions    uint32
	snapshotEvery uint64
	messageCache  int64
	syncDelay     time.Duration // latency of every fsync, at least 300µs: shorter ones rarely leave an early ack unsynced
	unsynced      int           // percent of unsynced blocks the crash keeps
	publishers    int
	window        int
	maxFiller     int // largest random filler of a payload
	crashAfter    int // durable PUBLISH_ACKs (and a tenth as many acked deliveries) before the crash
	extraAcks     int // then the cut, at the arrival of this many more PUBLISH_ACKs
	extraAckOKs   int // or of this many more ACK_OKs, if sooner
	nackPercent   int // share of first deliveries given back
}

func newPowerConfig(seed uint64) powerConfig {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	c := powerConfig{
		seed:          seed,
		sync:          wal.SyncPolicy(seed % 2),
		interval:      time.Duration(1+r.IntN(8)) * time.Millisecond,
		partitions:    uint32(1 + r.IntN(4)),
		snapshotEvery: uint64(8 << r.IntN(6)),
		messageCache:  []int64{-1, 4 << 10, 0}[r.IntN(3)],
		syncDelay:     time.Duration(300+r.IntN(1700)) * time.Microsecond,
		publishers:    1 + r.IntN(3),
		window:        16 << r.IntN(4),
		maxFiller:     1 + r.IntN(600),
		crashAfter:    50 + r.IntN(600),
		extraAcks:     1 + r.IntN(200),
		extraAckOKs:   1 + r.IntN(20),
		nackPercent:   r.IntN(20),
	}
	if r.IntN(2) == 0 {
		c.unsynced = 1 + r.IntN(100)
	}
	if r.IntN(4) < 1+2*int(c.sync) {
		// No snapshot (in most interval runs): each is a synced write,
		// which also makes every earlier write durable and so hides the
		// loss window of fsync interval.
		c.snapshotEvery = 1 << 40
	}
	return c
}

func (c powerConfig) String() string {
	return fmt.Sprintf("fsync %s (interval %s), %d partitions, snapshot every %d, cache %d, sync delay %s, "+
		"%d publishers (window %d, filler < %d), crash after %d durable acks, at the %d-th next one or %d-th next ACK_OK, keeping %d%% of unsynced data, nack %d%%",
		c.sync, c.interval, c.partitions, c.snapshotEvery, c.messageCache, c.syncDelay,
		c.publishers, c.window, c.maxFiller, c.crashAfter, c.extraAcks, c.extraAckOKs, c.unsynced, c.nackPercent)
}

func runPowerLoss(t *testing.T, cfg powerConfig) {
	t.Log(cfg)
	fs := vfs.NewCrashableMem()
	n := startPowerNode(t, cfg, fs)
	syncs := n.Metrics().GetOrCreateCounter("swarmmq_wal_interval_syncs_total")
	l := newLedger(cfg.sync == wal.SyncInterval, syncs)
	load := startPowerLoad(t, cfg, n.Addr().String(), l)

	waitCond(t, "durable acknowledgements before the crash", func() bool {
		pubAcks, ackOKs := l.durable()
		return pubAcks >= cfg.crashAfter && ackOKs >= cfg.crashAfter/10
	})
	// The clone needs no special Pebble options: the node runs with its
	// own. What matters: CrashClone is taken on the root MemFS, under every
	// wrapper (slowSyncFS, the wal's sync timer, Pebble's disk-health
	// checker), which pass writes and syncs through; MemFS's SyncTo keeps
	// nothing (as sync_file_range guarantees nothing), so only Pebble's
	// real syncs of the WAL count; the old node is stopped after the
	// clone, and what it writes meanwhile does not reach the clone.
	var crashed *vfs.MemFS
	rng := rand.New(rand.NewPCG(cfg.seed, 1))
	done := l.armCrash(cfg.extraAcks, cfg.extraAckOKs, func() {
		crashed = fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: cfg.unsynced, RNG: rng})
	})
	select {
	case <-done:
	case <-time.After(nodetest.Timeout):
		t.Fatal("no acknowledgement arrived to crash at")
	}
	load.stop()
	stopPowerNode(t, n)
	n = startPowerNode(t, cfg, crashed)
	l.retryAll(t, n.Addr().String())
	c := dialAddr(t, n.Addr().String())
	for _, d := range plDests {
		for _, g := range plGroups {
			l.drainCheck(t, c, d, g)
		}
	}
	t.Logf("interval syncs at the crash %d; %s", l.syncsAtCrash(), l.stats())
	if problems := l.errors(); len(problems) > 0 {
		t.Fatalf("%d problems (at most 50 shown):\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// startPowerNode starts a node with its log on fs (each sync delayed); it
// stops at the end of the test if not before.
func startPowerNode(t *testing.T, cfg powerConfig, fs vfs.FS) *stages.Node {
	t.Helper()
	n, err := stages.New(stages.Options{
		ClientAddr: "127.0.0.1:0", HTTPAddr: "off", DataDir: "/data",
		FS:         &slowSyncFS{FS: fs, delay: cfg.syncDelay},
		Partitions: cfg.partitions, Workers: int(min(cfg.partitions, 2)),
		Sync: cfg.sync, SyncInterval: cfg.interval,
		SnapshotEvery: cfg.snapshotEvery, MessageCache: cfg.messageCache,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { stopPowerNode(t, n) })
	return n
}

func stopPowerNode(t *testing.T, n *stages.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// dialAddr connects a client that does not reconnect, closed at the end of
// the test.
func dialAddr(t *testing.T, addr string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: addr, NoReconnect: true, RequestTimeout: nodetest.Timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitCond polls cond until it holds, for at most nodetest.Timeout.
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(nodetest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
	}
}
