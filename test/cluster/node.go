package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/test/netproxy"
)

// Defaults of Options.
const (
	// DefaultStartTimeout bounds a node's start until /health answers.
	DefaultStartTimeout = 30 * time.Second
	// DefaultStopTimeout bounds a clean stop (SIGTERM) before SIGKILL.
	DefaultStopTimeout = 20 * time.Second
)

// NodeSpec describes one node process: everything that differs between
// the nodes of a cluster. A plain value.
type NodeSpec struct {
	// ID is the node's id (node-1, node-2, …), passed as --node-id.
	ID string
	// DataDir is its data directory (--data-dir).
	DataDir string
	// LogFile receives its stdout and stderr, appended over restarts,
	// with a line of the harness before each start and signal.
	LogFile string
	// ClientAddr is its client address on 127.0.0.1 (--port).
	ClientAddr string
	// HTTPAddr is its admin address on 127.0.0.1 (--http-addr).
	HTTPAddr string
	// PeerAddr is the address it listens on for other nodes (empty
	// unless Options.Cluster is set); they reach it through the proxies
	// of Cluster.Link.
	PeerAddr string
	// Flags are extra flags of this node.
	Flags []string
}

// Options configures a Cluster. Zero fields mean the defaults.
type Options struct {
	// Bin is the node binary (see BuildNode); required.
	Bin string
	// Nodes is how many nodes to start (default 1).
	Nodes int
	// Flags are extra flags of every node (e.g. --min-free 0).
	Flags []string
	// Cluster, when set, makes the nodes one cluster whose peer links all
	// go through proxies of the harness (ClusterSpec). Without it each node
	// is a single-node broker of its own.
	Cluster *ClusterSpec
	// ClusterFlags, when set, returns more flags of node self, given every
	// node's spec.
	ClusterFlags func(all []NodeSpec, self int) []string
	// StartTimeout bounds each start until /health answers (default
	// DefaultStartTimeout).
	StartTimeout time.Duration
}

// Cluster is a set of node processes under one run directory. Its methods
// are called from the test goroutine; Node methods are safe for
// concurrent use.
type Cluster struct {
	// Dir is the run directory: node-N/data, node-N.log and, for a
	// cluster, node-N.yaml.
	Dir   string
	Nodes []*Node
	opts  Options
	links map[link]*netproxy.Proxy // nil without Options.Cluster
	// reserved holds the nodes' ports from specs until the nodes start.
	reserved []net.Listener
}

// Start starts opts.Nodes nodes on free loopback ports, each with its own
// data directory and log under a new run directory, and waits until each
// answers /health. Every process is killed when the test ends, however it
// ends; the run directory is removed if the test passed, kept and named in
// the test log if it failed.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.Bin == "" {
		t.Fatal("cluster: Options.Bin is required (BuildNode)")
	}
	dir, err := os.MkdirTemp("", "swarmmq-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Cluster != nil {
		spec := *opts.Cluster
		spec.ensureDefaults(opts.Nodes)
		opts.Cluster = &spec
	}
	c := &Cluster{Dir: dir, opts: opts}
	t.Cleanup(func() {
		c.KillAll()
		c.closeLinks()
		if t.Failed() {
			t.Logf("cluster: data and logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	specs, configFlags, err := c.layout()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		if configFlags != nil {
			s.Flags = append(s.Flags, configFlags[i]...)
		}
		if opts.ClusterFlags != nil {
			s.Flags = append(s.Flags, opts.ClusterFlags(specs, i)...)
		}
		c.Nodes = append(c.Nodes, &Node{Spec: s, bin: opts.Bin, startTimeout: opts.StartTimeout})
	}
	// All nodes are spawned before any is waited for: a cluster member may
	// answer /health only once it has found its peers.
	for _, n := range c.Nodes {
		if err := n.spawn(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()
	for _, n := range c.Nodes {
		if err := n.WaitHealthy(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// layout picks the nodes' ports and, for a cluster, starts the proxies of
// the links and writes the config files (with the flags that start each
// node on its file). The nodes' ports stay reserved until the proxies have
// theirs, so none is taken twice.
func (c *Cluster) layout() ([]NodeSpec, [][]string, error) {
	defer c.release()
	specs, err := c.specs()
	if err != nil || c.opts.Cluster == nil {
		return specs, nil, err
	}
	if err := c.startLinks(specs); err != nil {
		return nil, nil, err
	}
	flags, err := c.writeConfigs(specs)
	return specs, flags, err
}

func (c *Cluster) specs() ([]NodeSpec, error) {
	var specs []NodeSpec
	for i := 1; i <= c.opts.Nodes; i++ {
		id := nodeID(i - 1)
		s := NodeSpec{ID: id, DataDir: filepath.Join(c.Dir, id, "data"), LogFile: filepath.Join(c.Dir, id+".log"),
			Flags: append([]string(nil), c.opts.Flags...)}
		var err error
		if s.ClientAddr, err = c.reserve(); err != nil {
			return nil, err
		}
		if s.HTTPAddr, err = c.reserve(); err != nil {
			return nil, err
		}
		if c.opts.Cluster != nil {
			if s.PeerAddr, err = c.reserve(); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// Addrs returns the client addresses of the nodes.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Spec.ClientAddr)
	}
	return out
}

// KillAll kills every node process (resuming none: SIGKILL reaches a
// stopped process too) and waits for each to be gone.
func (c *Cluster) KillAll() {
	for _, n := range c.Nodes {
		_ = n.Kill()
	}
}

// reserve returns 127.0.0.1:port with a free port that stays bound until
// release, so that no other port the harness takes (the next node's, a
// proxy's) can be the same.
func (c *Cluster) reserve() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	c.reserved = append(c.reserved, l)
	return l.Addr().String(), nil
}

// release frees the reserved ports for the nodes to listen on.
func (c *Cluster) release() {
	for _, l := range c.reserved {
		_ = l.Close()
	}
	c.reserved = nil
}

// FreeAddr returns 127.0.0.1:port with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// BuildNode builds cmd/node into dir and returns the binary's path, or
// returns $SWARMMQ_NODE_BIN when it is set. It is a normal build (no race
// detector): the test process is the one that runs with -race.
func BuildNode(dir string) (string, error) {
	if bin := os.Getenv("SWARMMQ_NODE_BIN"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(dir, "node")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/swarmmq/swarmmq/cmd/node").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cluster: cannot build the node: %w\n%s", err, out)
	}
	return bin, nil
}

// Node is one node process, restartable on its data directory. It is safe
// for concurrent use.
type Node struct {
	Spec         NodeSpec
	bin          string
	startTimeout time.Duration

	mu struct {
		sync.Mutex
		cmd    *exec.Cmd
		exited chan struct{} // closed when cmd has exited
		log    *os.File
	}
}

// ErrNotRunning is returned by a signal to a node that is not running.
var ErrNotRunning = errors.New("swarmmq/cluster: node not running")

// Start starts the node's process on its data directory and ports and
// waits until /health answers (or ctx ends, or the start timeout runs out,
// or the process exits).
func (n *Node) Start(ctx context.Context) error {
	if err := n.spawn(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.startTimeout)
	defer cancel()
	return n.WaitHealthy(ctx)
}

func (n *Node) spawn() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.cmd != nil {
		return fmt.Errorf("cluster: %s is already running", n.Spec.ID)
	}
	args := n.args()
	log, err := os.OpenFile(n.Spec.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	n.noteLocked(log, "start %s %v", n.bin, args)
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("cluster: cannot start %s: %w", n.Spec.ID, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	n.mu.cmd, n.mu.exited, n.mu.log = cmd, exited, log
	return nil
}

// args is the node's command line.
func (n *Node) args() []string {
	_, port, _ := net.SplitHostPort(n.Spec.ClientAddr)
	return append([]string{"--node-id", n.Spec.ID, "--data-dir", n.Spec.DataDir, "--bind", "127.0.0.1",
		"--port", port, "--http-addr", n.Spec.HTTPAddr}, n.Spec.Flags...)
}

// noteLocked writes a line of the harness into the node's log.
func (n *Node) noteLocked(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "=== harness %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
}

// WaitHealthy polls /health until it answers 200, the process exits, or
// ctx ends.
func (n *Node) WaitHealthy(ctx context.Context) error { return n.waitPath(ctx, "/health") }

// waitPath polls path until it answers 200, the process exits, or ctx
// ends.
func (n *Node) waitPath(ctx context.Context, path string) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + n.Spec.HTTPAddr + path
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		n.mu.Lock()
		exited := n.mu.exited
		n.mu.Unlock()
		if exited == nil {
			return fmt.Errorf("cluster: %s: %w", n.Spec.ID, ErrNotRunning)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("cluster: %s exited while starting (log %s)", n.Spec.ID, n.Spec.LogFile)
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s: no 200 from %s (log %s): %w", n.Spec.ID, path, n.Spec.LogFile, ctx.Err())
		case <-tick.C:
		}
	}
}

// signal sends sig to the node's process group.
func (n *Node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.cmd == nil {
		return fmt.Errorf("cluster: %s: %w", n.Spec.ID, ErrNotRunning)
	}
	n.noteLocked(n.mu.log, "signal %v", sig)
	return syscall.Kill(-n.mu.cmd.Process.Pid, sig)
}

// Kill sends SIGKILL to the node's process group and waits until the
// process is gone. Killing a node that is not running does nothing.
func (n *Node) Kill() error {
	if err := n.signal(syscall.SIGKILL); errors.Is(err, ErrNotRunning) {
		return nil
	} else if err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	n.reap()
	return nil
}

// Stop sends SIGTERM and waits for the clean exit; after DefaultStopTimeout
// (or when ctx ends) it kills the node and says so.
func (n *Node) Stop(ctx context.Context) error {
	if err := n.signal(syscall.SIGTERM); err != nil {
		return err
	}
	n.mu.Lock()
	exited := n.mu.exited
	n.mu.Unlock()
	t := time.NewTimer(DefaultStopTimeout)
	defer t.Stop()
	select {
	case <-exited:
		if st := n.reap(); st != nil && !st.Success() {
			return fmt.Errorf("cluster: %s exited with %v on SIGTERM (log %s)", n.Spec.ID, st, n.Spec.LogFile)
		}
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	_ = n.Kill()
	return fmt.Errorf("cluster: %s did not stop on SIGTERM; killed (log %s)", n.Spec.ID, n.Spec.LogFile)
}

// reap waits for the exit, forgets the process and returns how it ended
// (nil if another caller reaped it first).
func (n *Node) reap() *os.ProcessState {
	n.mu.Lock()
	exited, log := n.mu.exited, n.mu.log
	n.mu.Unlock()
	if exited == nil {
		return nil
	}
	<-exited
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.exited != exited {
		return nil
	}
	st := n.mu.cmd.ProcessState
	n.noteLocked(log, "exited: %v", st)
	_ = log.Close()
	n.mu.cmd, n.mu.exited, n.mu.log = nil, nil, nil
	return st
}

// Pause stops the node's process group with SIGSTOP.
//
// SIGSTOP takes effect asynchronously: Pause returns once the kernel
// reports the process stopped (or after 2 s), so that what the caller does
// next — a /health probe, the fault's clock — meets a stopped node.
func (n *Node) Pause() error {
	if err := n.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	n.mu.Lock()
	pid := 0
	if n.mu.cmd != nil {
		pid = n.mu.cmd.Process.Pid
	}
	n.mu.Unlock()
	waitStopped(pid, 2*time.Second)
	return nil
}

// waitStopped polls /proc/<pid>/stat until the process's state is T
// (stopped), the process is gone, or d has passed. Where /proc is missing
// it returns at once.
func waitStopped(pid int, d time.Duration) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(d)
	for ; pid > 0 && time.Now().Before(deadline); <-tick.C {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// The state follows the command name, which is in parentheses.
		if i := bytes.LastIndexByte(b, ')'); i < 0 || i+2 >= len(b) || b[i+2] == 'T' {
			return
		}
	}
}

// Resume continues it with SIGCONT.
func (n *Node) Resume() error { return n.signal(syscall.SIGCONT) }

// Wipe removes the data directory of a node that is not running and
// creates it empty.
func (n *Node) Wipe() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.cmd != nil {
		return fmt.Errorf("cluster: wipe of %s while it runs", n.Spec.ID)
	}
	if err := os.RemoveAll(n.Spec.DataDir); err != nil {
		return err
	}
	return os.MkdirAll(n.Spec.DataDir, 0o755)
}

// Running reports whether the node's process is running (paused counts).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.cmd != nil
}
