package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// TestNodeFaults drives one node through each fault and proves each does
// what it says: a paused node does not answer, a killed node keeps its
// acknowledged messages, a wiped one has lost them — and the checker, fed
// what the consumer then sees, reports exactly those as lost.
func TestNodeFaults(t *testing.T) {
	c := Start(t, Options{Bin: nodeBin(t), Flags: []string{"--min-free", "0"}})
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec := NewRecorder([]string{"g"})

	cl, err := client.Dial(ctx, client.Options{Addr: n.Spec.ClientAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Fetch(ctx, "q", "g", 1, 0); err != nil { // the group exists before the messages
		t.Fatal(err)
	}
	var payloads [][]byte
	for i := range 10 {
		payloads = append(payloads, []byte(fmt.Sprintf("p0-%d|x", i)))
	}
	res, err := cl.Publish(ctx, "q", payloads...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		rec.Publish(Publish{Producer: "p0", Dest: "q", ID: payloadID(payloads[i]), At: time.Now(), Seq: r.Seq})
	}

	// Paused: /health does not answer until SIGCONT.
	if err := n.Pause(); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	err = n.WaitHealthy(short)
	cancelShort()
	if err == nil {
		t.Fatal("a stopped node answered /health")
	}
	if err := n.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}

	// Killed and restarted: the messages are there (a new group sees them).
	f, err := Inject(ctx, n, FaultKill, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Healed.Before(f.Start) || f.Node != n.Spec.ID {
		t.Fatalf("fault %+v", f)
	}
	if got := fetchAll(ctx, t, n.Spec.ClientAddr, "peek"); len(got) != 10 {
		t.Fatalf("after kill -9: %d messages, want 10", len(got))
	}

	// Wiped: they are gone, and the checker says which.
	if _, err := Inject(ctx, n, FaultWipe, 0); err != nil {
		t.Fatal(err)
	}
	got := fetchAll(ctx, t, n.Spec.ClientAddr, "g")
	for _, d := range got {
		rec.Deliver([]Delivery{{Group: "g", Dest: "q", Seq: d.Seq, ID: payloadID(d.Payload)}})
	}
	r := Check(rec.History())
	if len(r.Lost) != 10 || r.OK() {
		t.Fatalf("after the wipe the checker reports %d lost, want 10:\n%s", len(r.Lost), r.Table())
	}
}

// fetchAll fetches dest q for group until a FETCH comes back empty.
func fetchAll(ctx context.Context, t *testing.T, addr, group string) []client.Delivery {
	t.Helper()
	c, err := client.Dial(ctx, client.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []client.Delivery
	for {
		ds, err := c.Fetch(ctx, "q", group, 100, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return out
		}
		out = append(out, ds...)
	}
}

// TestNodesDieWithTheTest runs a test binary of this package that starts a
// node and then panics, or is killed with SIGKILL, and checks that the
// node process is gone either way.
func TestNodesDieWithTheTest(t *testing.T) {
	bin := nodeBin(t)
	for _, mode := range []string{"panic", "sigkill"} {
		t.Run("exit="+mode, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartsNodeAndDies$", "-test.v")
			// The helper dies without its cleanups: its run directory goes
			// under a TMPDIR this test removes.
			cmd.Env = append(os.Environ(), "CLUSTER_HELPER="+mode, "CLUSTER_HELPER_PID="+pidFile, "SWARMMQ_NODE_BIN="+bin,
				"TMPDIR="+t.TempDir())
			// The helper's output goes to a file (an *os.File: no copying
			// goroutine for Wait to wait on), shown if the helper hangs.
			out, err := os.Create(filepath.Join(t.TempDir(), "helper.out"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = out.Close() }()
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// exited is closed, not sent on, when the helper has exited:
			// waitPid and the select below may both see it (a helper that
			// panics is often gone before waitPid has read its pid).
			exited := make(chan struct{})
			var waitErr error
			go func() {
				waitErr = cmd.Wait()
				close(exited)
			}()
			pid := waitPid(t, pidFile, exited)
			if mode == "sigkill" {
				_ = cmd.Process.Kill()
			}
			select {
			case <-exited:
				t.Logf("helper exited: %v", waitErr)
			case <-time.After(time.Minute):
				// SIGQUIT makes the helper print its goroutines and exit;
				// SIGKILL if even that does not end it.
				_ = cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
				b, _ := os.ReadFile(out.Name())
				t.Fatalf("helper did not exit (%v); its output, with its goroutines on SIGQUIT:\n%s", waitErr, b)
			}
			// Poll: the node is not our child, so there is nothing to wait on.
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			deadline := time.After(20 * time.Second)
			for syscall.Kill(pid, 0) == nil {
				select {
				case <-deadline:
					_ = syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("node %d outlived its test (%s)", pid, mode)
				case <-tick.C:
				}
			}
		})
	}
}

// waitPid polls for the pid the helper writes once its node runs. exited
// is closed when the helper has exited; waitPid only looks at it (the
// caller waits on it too).
func waitPid(t *testing.T, path string, exited <-chan struct{}) int {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	read := func() int {
		b, err := os.ReadFile(path)
		if err != nil || len(b) == 0 {
			return 0
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	for {
		if pid := read(); pid != 0 {
			return pid
		}
		select {
		case <-exited:
			if pid := read(); pid != 0 {
				return pid
			}
			t.Fatal("helper exited before its node ran")
		case <-deadline:
			t.Fatal("helper did not start its node")
		case <-tick.C:
		}
	}
}

// TestHelperStartsNodeAndDies is run by TestNodesDieWithTheTest only.
func TestHelperStartsNodeAndDies(t *testing.T) {
	mode := os.Getenv("CLUSTER_HELPER")
	if mode == "" {
		t.Skip("helper of TestNodesDieWithTheTest")
	}
	c := Start(t, Options{Bin: nodeBin(t), Flags: []string{"--min-free", "0"}})
	c.Nodes[0].mu.Lock()
	pid := c.Nodes[0].mu.cmd.Process.Pid
	c.Nodes[0].mu.Unlock()
	if err := os.WriteFile(os.Getenv("CLUSTER_HELPER_PID"), []byte(strconv.Itoa(pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	if mode == "panic" {
		panic("helper panics with a node running")
	}
	<-make(chan struct{}) // wait for SIGKILL
}
