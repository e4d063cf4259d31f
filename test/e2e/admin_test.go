package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// ctlOK runs the built swarmctl against p and fails the test unless it
// exits 0; it returns stdout.
func ctlOK(t *testing.T, p *proc, stdin string, args ...string) string {
	t.Helper()
	out, stderr, err := run(t, stdin, "swarmctl", append([]string{"--http", p.httpAddr}, args...)...)
	if err != nil {
		t.Fatalf("swarmctl %v: %v\nstdout %q\nstderr %q", args, err, out, stderr)
	}
	return out
}

// TestAdminProcess runs the swarmctl write commands, producer-client and
// consumer-client --from as built binaries against a node process: a
// limits-retention destination is consumed, reset and consumed again, a
// new group starts at a seq, a message is peeked, the destination purged
// (after a yes) and deleted; a group is deleted; dead letters are
// replayed with their ids.
func TestAdminProcess(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(cfg, []byte("performance:\n  max_deliver: 1\n  ack_timeout: 300ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, t.TempDir(), "--config", cfg)
	publish := func(dest string, n string) {
		t.Helper()
		if _, stderr, err := run(t, "", "producer-client", "--node", p.addr, "-d", dest, "-m", "m", "-n", n); err != nil {
			t.Fatalf("producer-client: %v\n%s", err, stderr)
		}
	}
	consume := func(want string, args ...string) {
		t.Helper()
		out, stderr, err := run(t, "", "consumer-client", append([]string{"--node", p.addr, "--timeout", "1s"}, args...)...)
		if err != nil || out != want {
			t.Fatalf("consumer-client %v: %v, printed %q, want %q\n%s", args, err, out, want, stderr)
		}
	}

	if out := ctlOK(t, p, "", "dest", "create", "log", "--retention", "limits", "--max-msgs", "100"); !strings.HasPrefix(out, "Created log (partition ") {
		t.Fatalf("dest create: %q", out)
	}
	publish("log", "3")
	consume("m-1\nm-2\nm-3\n", "-d", "log", "-g", "g", "-n", "3")
	consume("", "-d", "log", "-g", "g", "--timeout", "300ms") // acked
	if out := ctlOK(t, p, "", "group", "reset", "log", "g", "--to", "earliest"); out != "Reset group g of log: it reads from seq 1.\n" {
		t.Fatalf("group reset: %q", out)
	}
	consume("m-1\nm-2\nm-3\n", "-d", "log", "-g", "g", "-n", "3") // consumed again
	consume("m-2\nm-3\n", "-d", "log", "-g", "mid", "--from", "seq:2", "-n", "2")

	if out := ctlOK(t, p, "", "msg", "get", "log", "2", "--raw"); out != "m-2" {
		t.Fatalf("msg get --raw: %q", out)
	}
	if out := ctlOK(t, p, "y\n", "dest", "purge", "log"); !strings.HasSuffix(out, "Purged log: 3 messages dropped.\n") {
		t.Fatalf("dest purge: %q", out)
	}
	if out := ctlOK(t, p, "", "group", "delete", "log", "mid", "--force"); out != "Deleted group mid of log.\n" {
		t.Fatalf("group delete: %q", out)
	}
	ctlOK(t, p, "", "dest", "delete", "log", "--force")
	if _, stderr, err := run(t, "", "swarmctl", "--http", p.httpAddr, "dest", "info", "log"); err == nil ||
		stderr != "swarmctl: no destination log: not found\n" {
		t.Fatalf("dest info after delete: %v %q", err, stderr)
	}

	// Dead letters: one attempt, not acknowledged, moves to jobs.dlq.
	publish("jobs", "2")
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: p.addr, ClientID: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, err := c.Fetch(ctx, "jobs", "w", 10, time.Second)
	if err != nil || len(ds) != 2 {
		t.Fatalf("fetch: %d, %v", len(ds), err)
	}
	for {
		var d struct {
			Depth int `json:"depth"`
		}
		out, _, err := run(t, "", "swarmctl", "--http", p.httpAddr, "--json", "dest", "info", "jobs.dlq")
		if err == nil && json.Unmarshal([]byte(out), &d) == nil && d.Depth == 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the deliveries were not dead-lettered")
		}
	}
	if out := ctlOK(t, p, "", "dlq", "replay", "jobs"); out != "Replayed 2 messages from jobs.dlq into jobs.\n" {
		t.Fatalf("dlq replay: %q", out)
	}
	again, err := c.Fetch(ctx, "jobs", "w", 10, time.Second)
	if err != nil || len(again) != 2 || again[0].ID != ds[0].ID || again[1].ID != ds[1].ID || again[0].Seq != 3 {
		t.Fatalf("replayed: %+v, %v", again, err)
	}
}
