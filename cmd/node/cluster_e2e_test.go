package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/conf"
	"github.com/swarmmq/swarmmq/netio/promtext"
	"github.com/swarmmq/swarmmq/route"
)

// nodeEnv carries a helper process's flags (JSON of conf.NodeFlags).
const nodeEnv = "SWARMMQ_TEST_NODE_FLAGS"

// TestHelperNode runs a node as the `node` command would, with the flags
// in SWARMMQ_TEST_NODE_FLAGS, until SIGTERM (or SIGKILL); without them it
// does nothing. TestClusterLeaderKill starts this test binary as its nodes.
func TestHelperNode(t *testing.T) {
	raw := os.Getenv(nodeEnv)
	if raw == "" {
		return
	}
	var flags conf.NodeFlags
	if err := json.Unmarshal([]byte(raw), &flags); err != nil {
		t.Fatal(err)
	}
	if err := run(flags); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(1)
	}
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		require.NoError(t, ln.Close())
	}
	return ports
}

// proc is one node process of the test cluster.
type proc struct {
	id, addr, http string
	env, logPath   string
	cmd            *exec.Cmd
	exited         chan struct{}
}

// startProcs writes a config of ids on loopback ports and starts one node
// process per id.
func startProcs(t *testing.T, ids []string, partitions int) []*proc {
	ports := freePorts(t, 3*len(ids))
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "cluster:\n  name: e2e\n  partitions: %d\n  replication_factor: 3\n  nodes:\n", partitions)
	ps := make([]*proc, len(ids))
	for i, id := range ids {
		ps[i] = &proc{id: id, addr: fmt.Sprintf("127.0.0.1:%d", ports[3*i]), http: fmt.Sprintf("127.0.0.1:%d", ports[3*i+2])}
		fmt.Fprintf(&b, "    - id: %s\n      address: %q\n      peer_address: \"127.0.0.1:%d\"\n      http_address: %q\n",
			id, ps[i].addr, ports[3*i+1], ps[i].http)
	}
	require.NoError(t, conf.GenerateProducerKey(filepath.Join(dir, "producer.key")))
	b.WriteString("node:\n  bind: 127.0.0.1\nlog:\n  level: info\nstorage:\n  min_free: 0\n" +
		"security:\n  producer_key_file: producer.key\n")
	cfg := filepath.Join(dir, "cluster.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(b.String()), 0o600))
	for _, p := range ps {
		flags, err := json.Marshal(conf.NodeFlags{Config: cfg, NodeID: p.id, DataDir: filepath.Join(dir, p.id)})
		require.NoError(t, err)
		p.env, p.logPath = nodeEnv+"="+string(flags), filepath.Join(dir, p.id+".log")
		p.start(t)
		t.Cleanup(func() {
			p.stop()
			if t.Failed() {
				b, _ := os.ReadFile(p.logPath)
				t.Logf("%s's log:\n%s", p.id, b)
			}
		})
	}
	return ps
}

// start starts the node process (again: on the same data directory).
func (p *proc) start(t *testing.T) {
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperNode$")
	p.cmd.Env = append(os.Environ(), p.env)
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	require.NoError(t, p.cmd.Start())
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		_ = logf.Close()
		close(p.exited)
	}()
}

// stop stops the process with SIGTERM (SIGKILL after 30 s); a no-op once
// it exited.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// health reads a node's /health (zero value if it does not answer).
func (p *proc) health() (h struct {
	PartitionsLed      []uint32          `json:"partitions_led"`
	PartitionTerms     map[string]uint64 `json:"partition_terms"`
	PartitionsFollowed []struct {
		Partition uint32 `json:"partition"`
		Leader    string `json:"leader"`
	} `json:"partitions_followed"`
	PeerLinks []struct {
		ID        string `json:"id"`
		Connected bool   `json:"connected"`
	} `json:"peer_links"`
}) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + p.http + "/health")
	if err != nil {
		return h
	}
	defer func() { _ = resp.Body.Close() }()
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return h
}

// waitReady waits until the node's /ready answers 200.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	c := http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := c.Get("http://" + p.http + "/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s never became ready", p.id)
}

// checkMetrics: every family a member exposes is described (a row in
// netio/promtext), and raft counted its work.
func (p *proc) checkMetrics(t *testing.T) {
	t.Helper()
	resp, err := http.Get("http://" + p.http + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := string(b)
	require.NotContains(t, text, promtext.UnknownHelp)
	require.Contains(t, text, "swarmmq_raft_elections_won_total ")
	require.Contains(t, text, "swarmmq_peer_connected{peer=")
}

// leaderOf waits until one of ps (not skip) says it leads partition part.
func leaderOf(t *testing.T, ps []*proc, part uint32, skip *proc) *proc {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range ps {
			if p != skip && slices.Contains(p.health().PartitionsLed, part) {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond) // polling /health: nothing to wait on
	}
	t.Fatalf("no node leads partition %d", part)
	return nil
}

// TestClusterLeaderKill starts three node processes on a generated
// three-node config, publishes to the leader of a destination's partition
// (found through /health), kills the leader with SIGKILL, publishes more
// through the node that is not the new leader (it forwards them), and
// reads every acknowledged message once from the new leader; the killed
// node then restarts on its data directory and catches up.
func TestClusterLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	const partitions, dest, count = 4, "orders", 300
	ps := startProcs(t, []string{"n1", "n2", "n3"}, partitions)
	part := route.Partition([]byte(dest), partitions)
	for _, p := range ps {
		p.waitReady(t)
	}
	old := leaderOf(t, ps, part, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, client.Options{Addr: old.addr, NoReconnect: true})
	require.NoError(t, err)
	acked := map[string]bool{}
	for i := range count {
		payload := fmt.Sprintf("m-%03d", i)
		res, err := c.Publish(ctx, dest, []byte(payload))
		require.NoError(t, err)
		require.Len(t, res, 1)
		require.NoError(t, res[0].Err, payload)
		acked[payload] = true
	}
	c.Close()

	killed := time.Now()
	require.NoError(t, old.cmd.Process.Kill())
	<-old.exited
	now := leaderOf(t, ps, part, old)
	t.Logf("%s leads partition %d %v after %s was killed (polled every 20 ms)", now.id, part,
		time.Since(killed).Round(time.Millisecond), old.id)
	require.NotEqual(t, old.id, now.id)
	h := now.health()
	require.Contains(t, h.PartitionTerms, fmt.Sprint(part), "the leader's term of the partition")
	require.Len(t, h.PeerLinks, 2)
	require.Len(t, h.PartitionsFollowed, partitions-len(h.PartitionsLed), "R=3 of 3: every partition is here")
	now.checkMetrics(t)

	// A node that does not lead the partition forwards to the leader.
	var via *proc
	for _, p := range ps {
		if p != old && p != now {
			via = p
		}
	}
	c, err = client.Dial(ctx, client.Options{Addr: via.addr, NoReconnect: true})
	require.NoError(t, err)
	for i := range 50 {
		payload := fmt.Sprintf("via-%03d", i)
		res, err := c.Publish(ctx, dest, []byte(payload))
		require.NoError(t, err)
		require.NoError(t, res[0].Err, "%s through %s (the leader is %s)", payload, via.id, now.id)
		acked[payload] = true
	}
	c.Close()

	c, err = client.Dial(ctx, client.Options{Addr: now.addr, NoReconnect: true})
	require.NoError(t, err)
	defer c.Close()
	got := map[string]int{}
	for len(got) < len(acked) {
		ds, err := c.Fetch(ctx, dest, "readers", 100, 500*time.Millisecond)
		require.NoError(t, err)
		if len(ds) == 0 {
			break
		}
		var seqs []uint64
		for _, d := range ds {
			got[string(d.Payload)]++
			seqs = append(seqs, d.Seq)
		}
		require.NoError(t, c.Ack(ctx, dest, "readers", seqs...))
	}
	for p := range acked {
		require.Equal(t, 1, got[p], "acknowledged message %s read %d times from the new leader", p, got[p])
	}

	// The killed node restarts on its data directory, rebuilds its
	// partitions from its log and catches up as a follower.
	old.start(t)
	old.waitReady(t)
	require.NotContains(t, old.health().PartitionsLed, part, "the old leader does not take the partition back by itself")
}
