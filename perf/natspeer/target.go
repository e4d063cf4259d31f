package natspeer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swarmmq/swarmmq/perf"
)

// readyTimeout bounds the embedded server's start.
const readyTimeout = 30 * time.Second

// Options configures a Target. It is a plain value.
type Options struct {
	// URL is a running server's URL (nats://host:port); empty with
	// Embedded.
	URL string
	// Embedded starts a nats-server in this process.
	Embedded bool
	// DataDir is the embedded server's directory (configuration and
	// JetStream store); empty: a new temporary directory, removed by Close.
	DataDir string
	// Fsync is perf.FsyncAlways or perf.FsyncInterval (embedded).
	Fsync string
}

// Target is NATS JetStream as a perf.Target. It is safe for concurrent
// use.
type Target struct {
	opts    Options
	tempDir bool

	mu struct {
		sync.Mutex
		srv   *server.Server
		url   string
		fsync string
		conf  string
		conns map[*nats.Conn]struct{}
	}
}

var _ perf.Target = (*Target)(nil)

// New connects to opts.URL, or starts an embedded server.
func New(opts Options) (*Target, error) {
	t := &Target{opts: opts}
	t.mu.conns = make(map[*nats.Conn]struct{})
	if !opts.Embedded {
		t.mu.url, t.mu.fsync = opts.URL, "external"
		return t, nil
	}
	if t.opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "natsbench-")
		if err != nil {
			return nil, err
		}
		t.opts.DataDir, t.tempDir = dir, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.startLocked(opts.Fsync); err != nil {
		t.removeTemp()
		return nil, err
	}
	return t, nil
}

// serverConf returns the server configuration for a durability, with the
// JetStream store in storeDir.
func serverConf(fsync, storeDir string) (string, error) {
	var sync string
	switch fsync {
	case perf.FsyncAlways:
		sync = "  sync_interval: always\n"
	case perf.FsyncInterval:
		// JetStream's default: sync every 2 minutes.
	default:
		return "", fmt.Errorf("natspeer: unknown fsync %q", fsync)
	}
	return fmt.Sprintf("host: 127.0.0.1\nport: -1\njetstream {\n  store_dir: %q\n%s}\n", storeDir, sync), nil
}

// startLocked writes the configuration and starts the server from it, as
// `nats-server -c` would.
func (t *Target) startLocked(fsync string) error {
	conf, err := serverConf(fsync, filepath.Join(t.opts.DataDir, "jetstream"))
	if err != nil {
		return err
	}
	path := filepath.Join(t.opts.DataDir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	sopts, err := server.ProcessConfigFile(path)
	if err != nil {
		return fmt.Errorf("nats-server configuration: %w", err)
	}
	sopts.NoLog, sopts.NoSigs = true, true
	s, err := server.NewServer(sopts)
	if err != nil {
		return err
	}
	s.Start()
	if !s.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		return errors.New("natspeer: nats-server not ready in time")
	}
	t.mu.srv, t.mu.url, t.mu.fsync = s, s.ClientURL(), fsync
	t.mu.conf = strings.ReplaceAll(conf, t.opts.DataDir, "$DIR")
	return nil
}

// Info describes the server.
func (t *Target) Info() perf.TargetInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	cfg := "external server at " + t.mu.url
	if t.opts.Embedded {
		cfg = strings.Join(strings.Fields(t.mu.conf), " ") + "; streams: file storage, R1, limits retention"
	}
	return perf.TargetInfo{System: "nats", Version: "nats-server " + server.VERSION + ", nats.go " + nats.Version,
		Embedded: t.opts.Embedded, Fsync: t.mu.fsync, Config: cfg, Notes: notes}
}

// notes says how the workloads use the API (see the package doc).
var notes = map[string]string{
	perf.WorkPublish:          "JetStream PublishAsync (≤ window pending), one ack per message; no Nats-Msg-Id, so no dedupe",
	perf.WorkPublishSync:      "JetStream Publish: one request/reply per message",
	perf.WorkConsume:          "pull consumer Consume() with PullMaxMessages(batch) prefetch, Ack() per message (fire and forget), as `nats bench js consume`",
	perf.WorkConsumeConfirmed: "--fetches loops: Fetch(batch), then DoubleAck of every message of the batch at once (no batch ack), awaited before the next Fetch",
	perf.WorkE2E:              "publish as 'publish' and consume as 'consume' at once; latency from the payload's send time",
}

// connect opens a connection to the current server and tracks it.
func (t *Target) connect() (*nats.Conn, error) {
	t.mu.Lock()
	url := t.mu.url
	t.mu.Unlock()
	nc, err := nats.Connect(url, nats.Name("natsbench"), nats.NoReconnect())
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.mu.conns[nc] = struct{}{}
	t.mu.Unlock()
	return nc, nil
}

// forget closes nc and stops tracking it.
func (t *Target) forget(nc *nats.Conn) {
	nc.Close()
	t.mu.Lock()
	delete(t.mu.conns, nc)
	t.mu.Unlock()
}

// ensureStream creates stream (one subject of the same name) if missing.
func ensureStream(ctx context.Context, js jetstream.JetStream, stream string) error {
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: stream, Subjects: []string{stream}, Storage: jetstream.FileStorage, Replicas: 1,
	})
	if err != nil {
		return fmt.Errorf("cannot create stream %s: %w", stream, err)
	}
	return nil
}

// Restart closes every connection and restarts the embedded server on its
// store with durability fsync.
func (t *Target) Restart(_ context.Context, fsync string) error {
	if !t.opts.Embedded {
		return perf.ErrNotSupported
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopLocked()
	return t.startLocked(fsync)
}

func (t *Target) stopLocked() {
	for nc := range t.mu.conns {
		nc.Close()
	}
	clear(t.mu.conns)
	if t.mu.srv != nil {
		t.mu.srv.Shutdown()
		t.mu.srv.WaitForShutdown()
		t.mu.srv = nil
	}
}

// Close closes every connection, shuts the embedded server down and
// removes its temporary directory.
func (t *Target) Close(context.Context) error {
	t.mu.Lock()
	t.stopLocked()
	t.mu.Unlock()
	t.removeTemp()
	return nil
}

func (t *Target) removeTemp() {
	if t.tempDir {
		_ = os.RemoveAll(t.opts.DataDir)
	}
}
