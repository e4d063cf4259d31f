package soak

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	addrRE     = regexp.MustCompile(`msg="node started".* addr=(\S+)`)
	httpAddrRE = regexp.MustCompile(`msg="admin HTTP" addr=(\S+)`)
)

// soakConfig is the node's config for the soak: a short ack timeout, so the
// messages a hostile fetcher never acks come back to its group quickly, and a
// bound on each destination, so the hostile publishers do not fill the disk.
const soakConfig = `performance:
  ack_timeout: 1s
limits:
  max_bytes: 128MB
`

// proc is the node process under test.
type proc struct {
	cmd      *exec.Cmd
	addr     string
	httpAddr string
	exited   chan struct{}
}

// startNode runs the binary named by SWARMMQ_SOAK_NODE with extra flags and
// waits until it logs its addresses.
func startNode(t *testing.T, bin string, extra ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "soak.yaml")
	if err := os.WriteFile(cfg, []byte(soakConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--config", cfg, "--data-dir", filepath.Join(dir, "data"),
		"--port", "0", "--http-addr", "127.0.0.1:0"}, extra...)
	p := &proc{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan struct{})
	go scanLog(pr, p, found) // ends when the process's stderr closes
	go func() {
		_ = p.cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	select {
	case <-found:
	case <-p.exited:
		t.Fatal("node exited at start")
	case <-time.After(30 * time.Second):
		t.Fatal("node did not start")
	}
	return p
}

// scanLog reads the node's log, records its addresses, and copies WARN and
// ERROR lines to the test's output.
func scanLog(r io.Reader, p *proc, found chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := addrRE.FindStringSubmatch(line); m != nil {
			p.addr = m[1]
		}
		if m := httpAddrRE.FindStringSubmatch(line); m != nil {
			p.httpAddr = m[1]
			close(found)
		}
		if strings.Contains(line, "level=ERROR") {
			fmt.Fprintln(os.Stderr, "node:", line)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// rss reads the resident set size and its high-water mark, in bytes, from
// /proc/pid/status.
func rss(pid int) (cur, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return cur, hwm, nil
}

// resetHWM resets VmHWM to the current RSS (clear_refs 5), so the next read
// gives the peak since now; it reports whether the kernel allowed it.
func resetHWM(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}
