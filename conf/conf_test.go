package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/stages/fanout"
)

func TestParseSize(t *testing.T) {
	f := func(in string, want Size, wantErr bool) {
		t.Helper()
		got, err := ParseSize(in)
		if (err != nil) != wantErr || got != want {
			t.Fatalf("ParseSize(%q) = %d, %v; want %d, err=%v", in, got, err, want, wantErr)
		}
	}
	f("1MB", 1<<20, false)
	f("512KB", 512<<10, false)
	f("2GiB", 2<<30, false)
	f("64k", 64<<10, false)
	f("4096", 4096, false)
	f("100B", 100, false)
	f(" 1 mb ", 1<<20, false)
	f("1TB", 0, true)
	f("MB", 0, true)
	f("-1MB", 0, true)
	f("99999999999999999999GB", 0, true)
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults are invalid: %v", err)
	}
	if c.ClientAddr() != "127.0.0.1:9001" {
		t.Fatalf("default client address %s", c.ClientAddr())
	}
}

func TestSampleConfig(t *testing.T) {
	c, err := Load(filepath.Join("..", "configs", "mvp-cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Name != "mvp-cluster" || len(c.Cluster.Nodes) != 1 || c.Cluster.Nodes[0].Address != "localhost:9001" {
		t.Fatalf("cluster = %+v", c.Cluster)
	}
	if c.Performance.MaxMessageSize != 1<<20 || c.Performance.BatchSize != 100 ||
		time.Duration(c.Performance.AckTimeout) != 5*time.Second {
		t.Fatalf("performance = %+v", c.Performance)
	}
	// The sample shows the defaults: it must agree with them.
	d := Default()
	if c.Performance != d.Performance || c.Limits != d.Limits || c.Node != d.Node {
		t.Fatalf("sample config disagrees with the defaults:\nsample  %+v %+v %+v\ndefault %+v %+v %+v",
			c.Node, c.Performance, c.Limits, d.Node, d.Performance, d.Limits)
	}
	if c.Storage != d.Storage {
		t.Fatalf("sample storage %+v, default %+v", c.Storage, d.Storage)
	}
}

// TestStorageMinFree: storage.min_free reaches the node (0 = no reserve),
// the flag beats the file.
func TestStorageMinFree(t *testing.T) {
	opts := func(c Config) int64 {
		t.Helper()
		o, err := c.NodeOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		return o.MinFree
	}
	if got := opts(Default()); got != 256<<20 {
		t.Fatalf("default min_free %d", got)
	}
	c, err := Parse([]byte("storage:\n  min_free: 1GB\n"))
	if err != nil || opts(c) != 1<<30 {
		t.Fatalf("min_free 1GB: %d %v", opts(c), err)
	}
	if c, _ = Parse([]byte("storage:\n  min_free: 0\n")); opts(c) >= 0 {
		t.Fatalf("min_free 0 gives %d, want a negative (no reserve)", opts(c))
	}
	path := filepath.Join(t.TempDir(), "n.yaml")
	if err := os.WriteFile(path, []byte("storage:\n  min_free: 1GB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flag := Size(64 << 20)
	c, err = LoadNode(NodeFlags{Config: path, MinFree: &flag})
	if err != nil || c.Storage.MinFree != 64<<20 {
		t.Fatalf("--min-free 64MB over the file: %v %v", c.Storage.MinFree, err)
	}
	flag = 8 << 20
	if _, err := LoadNode(NodeFlags{MinFree: &flag}); err == nil || !strings.Contains(err.Error(), "storage.min_free: 8MB: want 0") {
		t.Fatalf("--min-free 8MB (below two memtables): %v", err)
	}
	if _, err := Parse([]byte("storage:\n  min_free: lots\n")); err == nil || !strings.Contains(err.Error(), "storage.min_free") {
		t.Fatalf("bad min_free: %v", err)
	}
	var s Size
	if err := s.UnmarshalText([]byte("64MB")); err != nil || s != 64<<20 {
		t.Fatalf("UnmarshalText: %v %v", s, err)
	}
}

func TestEveryProblemListed(t *testing.T) {
	src := `
cluster:
  nmae: x
  partitions: 0
  nodes:
    - id: a
      address: nowhere
      roles: [chef]
node:
  id: b
  port: 70000
performance:
  ack_timeout: 5x
  max_message_size: huge
  batch_size: many
  fsync: sometimes
log:
  level: loud
extra: 1
`
	c, err := Parse([]byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	err2 := c.Validate()
	all := err.Error() + "\n" + err2.Error()
	for _, want := range []string{
		"cluster.nmae: unknown key", "extra: unknown key",
		`performance.ack_timeout: invalid duration "5x"`, `performance.max_message_size: invalid size "huge"`,
		"performance.batch_size: want a whole number", "cluster.partitions: 0 is out of range",
		`cluster.nodes[0].address: "nowhere" is not host:port`, `cluster.nodes[0].roles: "chef"`,
		`node.id: "b" is not among cluster.nodes`, "node.port: 70000 is not a port",
		`performance.fsync: "sometimes"`, `log.level: "loud"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing problem %q in:\n%s", want, all)
		}
	}
}

func TestFlagsBeatFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	src := "node:\n  data_dir: /from/file\n  http_addr: 127.0.0.1:1\nperformance:\n  fsync: interval\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	port := 0
	c, err := LoadNode(NodeFlags{Config: path, Port: &port, DataDir: "/from/flag"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Node.DataDir != "/from/flag" || c.Node.Port != 0 || c.Node.HTTPAddr != "127.0.0.1:1" || c.Performance.Fsync != "interval" {
		t.Fatalf("node = %+v perf.fsync=%s", c.Node, c.Performance.Fsync)
	}
}

func TestPortFromMembership(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	src := "cluster:\n  nodes:\n    - id: n2\n      address: localhost:9002\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadNode(NodeFlags{Config: path, NodeID: "n2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Node.Port != 9002 {
		t.Fatalf("port %d, want 9002 from cluster.nodes", c.Node.Port)
	}
	if _, err := LoadNode(NodeFlags{Config: path, NodeID: "n9"}); err == nil ||
		!strings.Contains(err.Error(), `"n9" is not among cluster.nodes`) {
		t.Fatalf("unlisted node id: %v", err)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	c := Default()
	b, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("re-parse of printed config: %v\n%s", err, b)
	}
	if back.Performance != c.Performance || back.Node != c.Node || back.Limits != c.Limits {
		t.Fatalf("round trip changed the config:\n%s", b)
	}
}

func TestSecurityProblems(t *testing.T) {
	c := Default()
	c.Security = Security{TLSCert: "/nonexistent/cert.pem", ClientAuth: true}
	c.Node.PlainPort = 9002
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"tls_cert and tls_key go together", `security.tls_cert: cannot read "/nonexistent/cert.pem"`,
		"security.client_auth: needs security.tls_ca"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	c = Default()
	c.Node.PlainPort = 9002
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "node.plain_port: only with TLS on") {
		t.Fatalf("plain_port without TLS: %v", err)
	}
}

// TestMessageCache: performance.message_cache reaches the node, 0 meaning
// nothing kept in memory, and a negative size is a listed problem.
func TestMessageCache(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want int64
	}{{"", 32 << 20}, {"performance:\n  message_cache: 8MB\n", 8 << 20}, {"performance:\n  message_cache: \"0\"\n", -1}} {
		o := parseNode(t, tc.src)
		if o.MessageCache != tc.want {
			t.Errorf("%q: MessageCache %d, want %d", tc.src, o.MessageCache, tc.want)
		}
	}
	_, err := Parse([]byte("performance:\n  message_cache: -1\n"))
	if err == nil || !strings.Contains(err.Error(), "performance.message_cache") {
		t.Fatalf("negative message cache: %v", err)
	}
}

// TestMemoryKeys: the memory bounds reach the node, and bad ones are all
// listed.
func TestMemoryKeys(t *testing.T) {
	src := "performance:\n  max_outbound: 16MB\n  max_buffered: 1GB\n  max_pipeline: 1MB\n  write_stall_timeout: 3s\n  memory_limit: 0\n"
	opts := parseNode(t, src)
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if opts.MaxOutbound != 16<<20 || opts.MaxBuffered != 1<<30 || opts.MaxPipeline != 1<<20 || opts.WriteStallTimeout != 3*time.Second || c.Performance.MemoryLimit != 0 {
		t.Fatalf("options %+v, memory limit %v", opts, c.Performance.MemoryLimit)
	}
	c, err = Parse([]byte("performance:\n  max_outbound: 512KB\n  max_buffered: 4KB\n  write_stall_timeout: 0s\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, want := range []string{"performance.max_outbound: 512KB is below max_message_size 1MB",
		"performance.max_buffered: 4KB is below max_message_size 1MB", "performance.write_stall_timeout: must be positive"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing problem %q in %v", want, err)
		}
	}
}

func TestIdleTimeoutAndPerIP(t *testing.T) {
	for _, tc := range []struct {
		src   string
		idle  time.Duration
		perIP int
	}{
		{"", netio.DefaultIdleTimeout, netio.DefaultMaxConnsPerIP},
		{"performance:\n  idle_timeout: 10s\n  max_connections_per_ip: 5\n", 10 * time.Second, 5},
		{"performance:\n  idle_timeout: 0s\n  max_connections_per_ip: -1\n", -1, -1},
	} {
		o := parseNode(t, tc.src)
		if o.IdleTimeout != tc.idle || o.MaxConnsPerIP != tc.perIP {
			t.Errorf("%q: idle %v per IP %d, want %v %d", tc.src, o.IdleTimeout, o.MaxConnsPerIP, tc.idle, tc.perIP)
		}
	}
	if netio.DefaultIdleTimeout <= 0 {
		t.Fatal("the default idle timeout must be finite")
	}
	for key, src := range map[string]string{
		"performance.max_connections_per_ip": "performance:\n  max_connections_per_ip: 0\n",
		"performance.idle_timeout":           "performance:\n  idle_timeout: -1s\n",
	} {
		c, err := Parse([]byte(src))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: %v", src, err)
		}
	}
}

// TestFlowControlPenalty: performance.flow_control_penalty reaches netio,
// 0 turning it off; a negative one is refused.
func TestFlowControlPenalty(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want time.Duration
	}{
		{"", netio.DefaultFlowControlPenalty},
		{"performance:\n  flow_control_penalty: 250ms\n", 250 * time.Millisecond},
		{"performance:\n  flow_control_penalty: 0s\n", -1},
	} {
		o := parseNode(t, tc.src)
		if o.FlowControlPenalty != tc.want {
			t.Errorf("%q: penalty %v, want %v", tc.src, o.FlowControlPenalty, tc.want)
		}
	}
	c, err := Parse([]byte("performance:\n  flow_control_penalty: -1s\n"))
	if err == nil {
		err = c.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "performance.flow_control_penalty") {
		t.Errorf("negative penalty: %v", err)
	}
}

// parseNode parses the config src and returns the node options it gives,
// failing the test on any error.
func parseNode(t *testing.T, src string) stages.Options {
	t.Helper()
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	o, err := c.NodeOptions(nil)
	if err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	return o
}

// TestSampleClusters: configs/cluster-5.yaml and configs/cluster-3.yaml
// validate for each of their nodes, each seeing itself and the others at
// the documented addresses.
func TestSampleClusters(t *testing.T) {
	for _, tc := range []struct {
		file, name            string
		nodes                 int
		client, peer, httpOff int // node-i listens on client+i, peer+i, http+i
	}{
		{"cluster-5.yaml", "swarm-5", 5, 9000, 9100, 8080},
		{"cluster-3.yaml", "swarm-3", 3, 9010, 9110, 8090},
	} {
		path := filepath.Join("..", "configs", tc.file)
		for i := 1; i <= tc.nodes; i++ {
			id := fmt.Sprintf("node-%d", i)
			c, err := LoadNode(NodeFlags{Config: path, NodeID: id})
			if err != nil {
				t.Fatalf("%s %s: %v", tc.file, id, err)
			}
			m := c.Membership()
			want := Endpoint{ID: id, Client: fmt.Sprintf("localhost:%d", tc.client+i),
				Peer: fmt.Sprintf("localhost:%d", tc.peer+i), HTTP: fmt.Sprintf("127.0.0.1:%d", tc.httpOff+i)}
			if m.Self != want || c.Node.Port != tc.client+i || c.ClientAddr() != fmt.Sprintf("127.0.0.1:%d", tc.client+i) {
				t.Errorf("%s %s: self %+v, listening on %s; want %+v", tc.file, id, m.Self, c.ClientAddr(), want)
			}
			if m.Name != tc.name || m.Partitions != 16 || m.ReplicationFactor != 3 || len(m.Peers) != tc.nodes-1 || !m.Clustered() {
				t.Errorf("%s %s: %+v", tc.file, id, m)
			}
			for _, p := range m.Peers {
				if p.ID == id || p.Client == "" || p.Peer == "" || p.HTTP == "" {
					t.Errorf("%s %s: peer %+v", tc.file, id, p)
				}
			}
		}
		if _, err := LoadNode(NodeFlags{Config: path}); err == nil || !strings.Contains(err.Error(), "--node-id: required") {
			t.Fatalf("%s, no --node-id: %v", tc.file, err)
		}
	}
}

// TestSampleSingleNode: configs/mvp-cluster.yaml runs one node as before:
// no --node-id needed, port 9001, not clustered.
func TestSampleSingleNode(t *testing.T) {
	c, err := LoadNode(NodeFlags{Config: filepath.Join("..", "configs", "mvp-cluster.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Membership()
	if m.Clustered() || m.Self.ID != "node-1" || m.ReplicationFactor != 1 || c.ClientAddr() != "127.0.0.1:9001" ||
		c.Node.DataDir != DefaultDataDir {
		t.Fatalf("membership %+v, listening on %s, data in %s", m, c.ClientAddr(), c.Node.DataDir)
	}
	d, err := LoadNode(NodeFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if m := d.Membership(); m.Clustered() || m.Self.ID != DefaultNodeID || m.ReplicationFactor != 1 || m.Self.Client != "127.0.0.1:9001" {
		t.Fatalf("defaults: %+v", m)
	}
}

// TestOnePartition: a config of one partition gives the node options it
// accepts (one fanout worker, not the default two).
func TestOnePartition(t *testing.T) {
	o := parseNode(t, "cluster:\n  partitions: 1\n")
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o = parseNode(t, "")
	o.EnsureDefaults()
	if o.Workers != fanout.DefaultWorkers {
		t.Fatalf("16 partitions: %d workers", o.Workers)
	}
}

// TestRetention: limits.retention reaches the partitions; a bad mode is
// named.
func TestRetention(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want queue.Retention
	}{{"", queue.RetentionDefault}, {"limits:\n  retention: limits\n", queue.RetentionLimits},
		{"limits:\n  retention: interest\n", queue.RetentionInterest}} {
		if o := parseNode(t, tc.src); o.Queue.Retention != tc.want {
			t.Errorf("%q: Retention %v, want %v", tc.src, o.Queue.Retention, tc.want)
		}
	}
	c, err := Parse([]byte("limits:\n  retention: forever\n"))
	if err == nil {
		err = c.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), `limits.retention: "forever": want interest or limits`) {
		t.Fatalf("bad retention: %v", err)
	}
}

// TestMaxProgress: performance.max_progress reaches the partitions (and
// so HELLO_OK); the default is the queue's.
func TestMaxProgress(t *testing.T) {
	if o := parseNode(t, ""); o.Queue.MaxProgress != queue.DefaultMaxProgress {
		t.Fatalf("default MaxProgress %d, want %d", o.Queue.MaxProgress, queue.DefaultMaxProgress)
	}
	if o := parseNode(t, "performance:\n  max_progress: 7\n"); o.Queue.MaxProgress != 7 {
		t.Fatalf("MaxProgress %d, want 7", o.Queue.MaxProgress)
	}
}
