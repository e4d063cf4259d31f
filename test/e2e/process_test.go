package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/swarmmq/swarmmq/test/nodetest"
)

// binDir holds the binaries built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "swarmmq-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer func() { _ = os.RemoveAll(dir) }()
		out, err := exec.Command("go", "build", "-o", dir+"/",
			"../../cmd/node", "../../cmd/producer-client", "../../cmd/consumer-client", "../../cmd/swarmctl").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "cannot build the binaries: %v\n%s", err, out)
			return 1
		}
		binDir = dir
		code := m.Run()
		if code == 0 {
			// Every in-process node, client and helper goroutine is gone.
			if err := goleak.Find(
				// gnet's worker pool starts these at init and keeps them.
				goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
				goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
			); err != nil {
				fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// proc is a node running as a real process.
type proc struct {
	cmd      *exec.Cmd
	addr     string
	httpAddr string
	stderr   *syncBuffer
	exited   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	addrRE     = regexp.MustCompile(`msg="node started".* addr=(\S+)`)
	httpAddrRE = regexp.MustCompile(`msg="admin HTTP" addr=(\S+)`)
)

// startProc runs bin/node on dataDir with a free port and waits until it
// logs its addresses.
func startProc(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	return startProcEnv(t, nil, dataDir, extra...)
}

// startProcEnv is startProc with env added to the node's environment.
func startProcEnv(t *testing.T, env []string, dataDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"--data-dir", dataDir, "--port", "0", "--http-addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(filepath.Join(binDir, "node"), args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.stderr, line)
			if m := addrRE.FindStringSubmatch(line); m != nil {
				p.addr = m[1]
			}
			if m := httpAddrRE.FindStringSubmatch(line); m != nil {
				p.httpAddr = m[1]
				once.Do(func() { close(found) })
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case <-found:
	case <-p.exited:
		t.Fatalf("node exited at start:\n%s", p.stderr)
	case <-time.After(nodetest.Timeout):
		t.Fatalf("node did not start:\n%s", p.stderr)
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(nodetest.Timeout):
		t.Fatalf("node did not stop on SIGINT:\n%s", p.stderr)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("node exited %d on SIGINT:\n%s", code, p.stderr)
	}
}

// run runs one of the built binaries and returns stdout, stderr.
func run(t *testing.T, stdin string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestQuickStart runs the README's quick start against a real node process.
func TestQuickStart(t *testing.T) {
	p := startProc(t, t.TempDir())
	_, stderr, err := run(t, "", "producer-client", "--node", p.addr, "--destination", "test-queue", "--message", "Hello SwarmMQ")
	if err != nil {
		t.Fatalf("producer-client: %v\n%s", err, stderr)
	}
	out, stderr, err := run(t, "", "consumer-client", "--node", p.addr, "--destination", "test-queue", "--timeout", "500ms")
	if err != nil {
		t.Fatalf("consumer-client: %v\n%s", err, stderr)
	}
	if out != "Hello SwarmMQ\n" {
		t.Fatalf("consumer-client printed %q", out)
	}
	// Acked: a second consumer of the same group gets nothing.
	if out, _, _ := run(t, "", "consumer-client", "--node", p.addr, "--destination", "test-queue", "--timeout", "300ms"); out != "" {
		t.Fatalf("acked message delivered again: %q", out)
	}
	// README, "Operating": the acked message is gone, the group stays
	// (its members, the consumers, follow: gone once the node saw their
	// connections close).
	out, stderr, err = run(t, "", "swarmctl", "--http", p.httpAddr, "group", "info", "test-queue", "default")
	if err != nil || !strings.HasPrefix(out, "Group          default\nLag            0\nPending        0\nIn flight      0\nAck floor      2\nRedelivered    0\nDead-lettered  0\n\n") {
		t.Fatalf("swarmctl group info: %v %q\n%s", err, out, stderr)
	}

	resp, err := http.Get("http://" + p.httpAddr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		NodeID string `json:"node_id"`
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Status != "ok" || h.NodeID != "node-1" {
		t.Fatalf("/health: %+v %v", h, err)
	}
	_ = resp.Body.Close()
	resp, err = http.Get("http://" + p.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{"swarmmq_published_messages_total 1", "swarmmq_acked_messages_total 1",
		`swarmmq_ring_depth{ring="verify"}`, "swarmmq_wal_sync_seconds", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	p.stop(t)
}

// TestBadConfig: every problem listed, node does not start.
func TestBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	src := "performance:\n  ack_timeout: soon\n  fsync: never\nnode:\n  prot: 1\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := run(t, "", "node", "--config", path, "--data-dir", t.TempDir())
	if err == nil {
		t.Fatal("node started with a bad config")
	}
	for _, want := range []string{"performance.ack_timeout", "node.prot: unknown key", `performance.fsync: "never"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestQuickStartSecure runs the clients against a node process with TLS and
// a keyring, as docs/tls.md and docs/sealing.md describe.
func TestQuickStartSecure(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t)
	if err := p.ca.WriteFiles(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	if err := p.server.WriteFiles(filepath.Join(dir, "node.pem"), filepath.Join(dir, "node-key.pem")); err != nil {
		t.Fatal(err)
	}
	keyring := filepath.Join(dir, "keyring.yaml")
	if _, stderr, err := run(t, "", "node", "--gen-keyring", keyring); err != nil {
		t.Fatalf("--gen-keyring: %v %s", err, stderr)
	}
	cfg := filepath.Join(dir, "node.yaml")
	src := fmt.Sprintf("security:\n  keyring: %s\n  tls_cert: %s\n  tls_key: %s\n", keyring,
		filepath.Join(dir, "node.pem"), filepath.Join(dir, "node-key.pem"))
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	node := startProc(t, data, "--config", cfg)
	secure := []string{"--node", node.addr, "--tls-ca", filepath.Join(dir, "ca.pem"), "--key-file", keyring}
	if _, stderr, err := run(t, "", "producer-client", append(secure, "--destination", "vault", "--message", "Hello sealed")...); err != nil {
		t.Fatalf("producer-client: %v\n%s", err, stderr)
	}
	if _, _, err := run(t, "", "producer-client", "--node", node.addr, "--destination", "vault", "--message", "plain"); err == nil {
		t.Fatal("a plaintext client was served by a TLS-only node")
	}
	out, stderr, err := run(t, "", "consumer-client", append(secure, "--destination", "vault", "--timeout", "500ms")...)
	if err != nil || out != "Hello sealed\n" {
		t.Fatalf("consumer-client printed %q: %v\n%s", out, err, stderr)
	}
	node.stop(t)
	assertNotOnDisk(t, data, "Hello sealed")
}
