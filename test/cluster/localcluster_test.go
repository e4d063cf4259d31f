package cluster

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// localCluster runs local-cluster.sh (make cluster) on a config of its own.
type localCluster struct {
	t                 *testing.T
	bin, config, data string
}

func (l localCluster) run(args ...string) (string, error) {
	l.t.Helper()
	cmd := exec.Command("bash", append([]string{"local-cluster.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "BIN="+l.bin, "CONFIG="+l.config, "DATA="+l.data, "STOP_TIMEOUT=20", "START_TIMEOUT=30")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l localCluster) must(args ...string) string {
	l.t.Helper()
	out, err := l.run(args...)
	if err != nil {
		l.t.Fatalf("local-cluster.sh %v: %v\n%s", args, err, out)
	}
	return out
}

func (l localCluster) pid(id string) int {
	l.t.Helper()
	b, err := os.ReadFile(filepath.Join(l.data, id+".pid"))
	if err != nil {
		l.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		l.t.Fatal(err)
	}
	return pid
}

// newLocalCluster builds clusterinfo next to the node binary's copy and
// writes a config of n nodes on free ports. The nodes the script starts
// are in sessions of their own: the cleanup stops them, and kills any left.
func newLocalCluster(t *testing.T, n int) localCluster {
	t.Helper()
	dir := t.TempDir()
	l := localCluster{t: t, bin: filepath.Join(dir, "bin"), config: filepath.Join(dir, "cluster.yaml"), data: filepath.Join(dir, "data")}
	if err := os.MkdirAll(l.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(nodeBin(t), filepath.Join(l.bin, "node")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", l.bin, "github.com/swarmmq/swarmmq/test/cluster/cmd/clusterinfo").CombinedOutput(); err != nil {
		t.Fatalf("build clusterinfo: %v\n%s", err, out)
	}
	var specs []NodeSpec
	var ports Cluster // holds the ports until all are picked
	defer ports.release()
	for i := range n {
		s := NodeSpec{ID: nodeID(i)}
		for _, a := range []*string{&s.ClientAddr, &s.PeerAddr, &s.HTTPAddr} {
			var err error
			if *a, err = ports.reserve(); err != nil {
				t.Fatal(err)
			}
		}
		specs = append(specs, s)
	}
	spec := ClusterSpec{Name: "local", ProducerKeyFile: filepath.Join(l.data, "producer.key")}
	spec.ensureDefaults(n)
	if err := os.WriteFile(l.config, spec.ConfigYAML(specs, 0, func(j int) string { return specs[j].PeerAddr }), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, err := l.run("stop")
		if err != nil {
			t.Logf("local-cluster.sh stop: %v\n%s", err, out)
		}
		files, _ := filepath.Glob(filepath.Join(l.data, "*.pid"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	})
	return l
}

// TestLocalClusterScript drives make cluster's script through its life on
// a one-node config: start, start again (already running), status,
// leader, kill-leader and start bringing the node back, stop, stop again;
// and a start refused because a port is taken.
func TestLocalClusterScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	l := newLocalCluster(t, 1)
	out := l.must("start")
	if !strings.Contains(out, "node-1") || !strings.Contains(out, "producer-client --node") {
		t.Fatalf("start printed:\n%s", out)
	}
	first := l.pid("node-1")
	if out := l.must("start"); !strings.Contains(out, "already running") || l.pid("node-1") != first {
		t.Fatalf("second start:\n%s", out)
	}
	if out := l.must("status"); !strings.Contains(out, "node-1 running (pid "+strconv.Itoa(first)+"), /health ok") {
		t.Fatalf("status:\n%s", out)
	}
	if out := l.must("leader", "orders"); !strings.Contains(out, "led by node-1") || !strings.Contains(out, "kill -9") {
		t.Fatalf("leader:\n%s", out)
	}
	if out := l.must("kill-leader", "orders"); !strings.Contains(out, "killed node-1 (pid "+strconv.Itoa(first)+")") {
		t.Fatalf("kill-leader:\n%s", out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := l.run("status")
		if err != nil && strings.Contains(out, "node-1 not running") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after kill -9:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond) // polling another process's state: nothing to wait on
	}
	if out := l.must("start"); !strings.Contains(out, "starting node-1") || l.pid("node-1") == first {
		t.Fatalf("start after the kill:\n%s", out)
	}
	if out := l.must("stop"); !strings.Contains(out, "stopped") {
		t.Fatalf("stop:\n%s", out)
	}
	if out := l.must("stop"); !strings.Contains(out, "no node") {
		t.Fatalf("second stop:\n%s", out)
	}

	// A port of the node is taken: nothing starts, the port is named.
	cfg, err := os.ReadFile(l.config)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	http := regexp.MustCompile(`http_address: "([^"]+)"`).FindSubmatch(cfg)[1]
	if err := os.WriteFile(l.config, bytes.Replace(cfg, http, []byte(busy.Addr().String()), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = l.run("start")
	if err == nil || !strings.Contains(out, "HTTP address ("+busy.Addr().String()+") is taken") {
		t.Fatalf("start with a port taken: %v\n%s", err, out)
	}
}

// TestLocalClusterLeaderKill is the newcomer's run of docs/cluster.md on a
// three-node cluster started by make cluster's script: producer-client
// publishes through a seed list of every node, the destination's leader
// is killed with kill -9 while it runs, and the producer must finish with
// every message acknowledged and no error; then consumer-client reads
// every message exactly once.
func TestLocalClusterLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	l := newLocalCluster(t, 3)
	if out, err := exec.Command("go", "build", "-o", l.bin, "github.com/swarmmq/swarmmq/cmd/producer-client",
		"github.com/swarmmq/swarmmq/cmd/consumer-client").CombinedOutput(); err != nil {
		t.Fatalf("build the clients: %v\n%s", err, out)
	}
	l.must("start")
	cfg, err := os.ReadFile(l.config)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []string
	for _, m := range regexp.MustCompile(`\n      address: "([^"]+)"`).FindAllSubmatch(cfg, -1) {
		seeds = append(seeds, string(m[1]))
	}
	const n = 20000
	var prodOut bytes.Buffer
	prod := exec.Command(filepath.Join(l.bin, "producer-client"), "--node", strings.Join(seeds, ","), "-d", "orders",
		"-m", "m", "-n", strconv.Itoa(n), "--rate", "2000")
	prod.Stdout, prod.Stderr = &prodOut, &prodOut
	if err := prod.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the producer has exited (prodErr set); the
	// cleanup kills a producer a failed test left running.
	exited := make(chan struct{})
	var prodErr error
	go func() {
		prodErr = prod.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = prod.Process.Kill()
		<-exited
	})
	timer := time.NewTimer(3 * time.Second) // a third of the way through
	select {
	case <-exited:
		t.Fatalf("the producer ended before the kill: %v\n%s", prodErr, prodOut.String())
	case <-timer.C:
	}
	t.Log(l.must("kill-leader", "orders"))
	<-exited
	if err := prodErr; err != nil {
		t.Fatalf("producer-client: %v\n%s", err, prodOut.String())
	}
	t.Logf("producer-client:\n%s", prodOut.String())
	out, err := exec.Command(filepath.Join(l.bin, "consumer-client"), "--node", strings.Join(seeds, ","), "-d", "orders",
		"-g", "audit", "-n", strconv.Itoa(n), "--timeout", "20s").Output()
	if err != nil {
		t.Fatalf("consumer-client: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	seen := map[string]bool{}
	for _, line := range lines {
		seen[line] = true
	}
	if len(lines) != n || len(seen) != n {
		t.Fatalf("consumer-client read %d messages, %d distinct; want %d once each", len(lines), len(seen), n)
	}
}
