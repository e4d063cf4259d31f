package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/perf"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/wal"
)

// stopTimeout bounds stopping the embedded node.
const stopTimeout = 30 * time.Second

// Options configures a Target. It is a plain value.
type Options struct {
	// Addr is a running node's client address; empty with Embedded.
	Addr string
	// Embedded starts a node in this process.
	Embedded bool
	// DataDir is the embedded node's data directory; empty: a new
	// temporary directory, removed by Close.
	DataDir string
	// Fsync is perf.FsyncAlways or perf.FsyncInterval (embedded).
	Fsync string
	// FsyncInterval is the sync period under perf.FsyncInterval.
	FsyncInterval time.Duration
	// HTTP starts the embedded node's HTTP admin surface (for pprof) on
	// 127.0.0.1, on a port kept across restarts.
	HTTP bool
	// HealthAddr is a running node's HTTP address: its /health tells the
	// fsync policy recorded with the results (else "external").
	HealthAddr string
}

// Target is SwarmMQ as a perf.Target. It is safe for concurrent use.
type Target struct {
	opts    Options
	tempDir bool

	mu struct {
		sync.Mutex
		node     *stages.Node
		addr     string
		httpAddr string
		fsync    string
		clients  map[*client.Client]struct{}
	}
}

var _ perf.Target = (*Target)(nil)

// New connects to opts.Addr, or starts an embedded node.
func New(opts Options) (*Target, error) {
	t := &Target{opts: opts}
	t.mu.clients = make(map[*client.Client]struct{})
	if !opts.Embedded {
		t.mu.addr, t.mu.fsync = opts.Addr, "external"
		if opts.HealthAddr != "" {
			fsync, err := healthFsync(opts.HealthAddr)
			if err != nil {
				return nil, err
			}
			t.mu.fsync = fsync
		}
		return t, nil
	}
	if t.opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "swarmbench-")
		if err != nil {
			return nil, err
		}
		t.opts.DataDir, t.tempDir = dir, true
	}
	httpAddr := "off"
	if opts.HTTP {
		httpAddr = "127.0.0.1:0"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.startLocked(opts.Fsync, httpAddr); err != nil {
		t.removeTemp()
		return nil, err
	}
	return t, nil
}

// startLocked starts the embedded node with fsync policy fsync.
func (t *Target) startLocked(fsync, httpAddr string) error {
	policy, err := wal.ParseSyncPolicy(fsync)
	if err != nil {
		return err
	}
	n, err := stages.New(stages.Options{
		ClientAddr: "127.0.0.1:0", HTTPAddr: httpAddr, DataDir: t.opts.DataDir,
		Sync: policy, SyncInterval: t.opts.FsyncInterval,
	})
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		return err
	}
	t.mu.node, t.mu.addr, t.mu.fsync = n, n.Addr().String(), fsync
	if a := n.HTTPAddr(); a != nil {
		t.mu.httpAddr = a.String()
	}
	return nil
}

// healthFsync asks a node's /health for its fsync policy.
func healthFsync(addr string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("cannot read the node's /health: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var h struct {
		Fsync string `json:"fsync"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Fsync == "" {
		return "", fmt.Errorf("no fsync policy in the node's /health (%s): %w", resp.Status, err)
	}
	return h.Fsync, nil
}

// PprofAddr returns the embedded node's HTTP address ("" without HTTP).
func (t *Target) PprofAddr() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.httpAddr
}

// Info describes the node.
func (t *Target) Info() perf.TargetInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	cfg := "fsync: " + t.mu.fsync
	if t.mu.fsync == perf.FsyncInterval {
		cfg += fmt.Sprintf(" (fsync_interval: %v)", t.opts.FsyncInterval)
	}
	if t.opts.Embedded {
		cfg += fmt.Sprintf("; stages defaults (%d partitions, ring %d); data in %s", wal.DefaultPartitions,
			stages.DefaultRingSize, t.opts.DataDir)
	}
	return perf.TargetInfo{System: "swarmmq", Version: version(), Embedded: t.opts.Embedded, Fsync: t.mu.fsync,
		Config: cfg, Notes: notes}
}

// notes says how the workloads use the client (see the package doc).
var notes = map[string]string{
	perf.WorkPublish:          "Publisher (window, adaptive batches up to --batch per PUBLISH frame); each message acked by PUBLISH_ACK",
	perf.WorkPublishSync:      "Client.Publish of one message, waited for",
	perf.WorkConsume:          "--fetches loops on one connection: Fetch(batch), Ack(batch) sent on its own goroutine (≤ ack window unconfirmed), fetch again at once",
	perf.WorkConsumeConfirmed: "--fetches loops on one connection: Fetch(batch), Ack(batch) waits for ACK_OK (ack durable), then the next fetch",
	perf.WorkE2E:              "publish as 'publish' and consume as 'consume' at once; latency from the payload's send time",
}

// version returns the module version and revision this binary was built
// from, as far as the build recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// dial opens a Client to the current node and tracks it.
func (t *Target) dial(ctx context.Context) (*client.Client, error) {
	t.mu.Lock()
	addr := t.mu.addr
	t.mu.Unlock()
	c, err := client.Dial(ctx, client.Options{Addr: addr, ClientID: "swarmbench", NoReconnect: true})
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.mu.clients[c] = struct{}{}
	t.mu.Unlock()
	return c, nil
}

// forget stops tracking c (closed by its owner).
func (t *Target) forget(c *client.Client) {
	t.mu.Lock()
	delete(t.mu.clients, c)
	t.mu.Unlock()
}

// Restart closes every client and restarts the embedded node on its data
// with fsync policy fsync.
func (t *Target) Restart(ctx context.Context, fsync string) error {
	if !t.opts.Embedded {
		return perf.ErrNotSupported
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.stopLocked(ctx); err != nil {
		return err
	}
	httpAddr := t.mu.httpAddr
	if httpAddr == "" {
		httpAddr = "off"
	}
	return t.startLocked(fsync, httpAddr)
}

// stopLocked closes the clients and stops the node.
func (t *Target) stopLocked(ctx context.Context) error {
	for c := range t.mu.clients {
		c.Close()
	}
	clear(t.mu.clients)
	if t.mu.node == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	err := t.mu.node.Stop(ctx)
	t.mu.node = nil
	return err
}

// Close closes every client, stops the embedded node and removes its
// temporary directory.
func (t *Target) Close(ctx context.Context) error {
	t.mu.Lock()
	err := t.stopLocked(ctx)
	t.mu.Unlock()
	t.removeTemp()
	return err
}

func (t *Target) removeTemp() {
	if t.tempDir {
		_ = os.RemoveAll(t.opts.DataDir)
	}
}
