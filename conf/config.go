package conf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/wal"
)

// Defaults of the node's own settings (the others come from the packages
// that own them).
const (
	DefaultNodeID    = "node-1"
	DefaultBind      = "127.0.0.1"
	DefaultPort      = 9001
	DefaultDataDir   = "./data"
	DefaultHTTPAddr  = "127.0.0.1:8080"
	DefaultBatchSize = 100
	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"
)

// Config is the whole YAML config file of a node. It is a plain value, not
// safe for concurrent mutation.
type Config struct {
	Cluster     Cluster     `yaml:"cluster"`
	Node        Node        `yaml:"node"`
	Performance Performance `yaml:"performance"`
	Limits      Limits      `yaml:"limits"`
	Storage     Storage     `yaml:"storage"`
	Security    Security    `yaml:"security"`
	Log         Log         `yaml:"log"`

	// from records where values came from, for messages.
	from origin
}

// Node holds this node's own settings.
type Node struct {
	// ID selects this node among cluster.nodes.
	ID string `yaml:"id"`
	// Bind is the interface the client port listens on.
	Bind string `yaml:"bind"`
	// Port is the client port; 0 picks a free port (tests).
	Port int `yaml:"port"`
	// DataDir holds the Pebble log.
	DataDir string `yaml:"data_dir"`
	// HTTPAddr serves /health, /ready, /metrics and /debug/pprof; "off"
	// disables it.
	HTTPAddr string `yaml:"http_addr"`
	// PlainPort, with TLS on, also serves plaintext on this port (trusted
	// networks, benchmarks); 0 = none.
	PlainPort int `yaml:"plain_port"`
}

// Performance holds throughput and delivery settings.
type Performance struct {
	// MaxMessageSize bounds a frame on the wire (and so one message).
	MaxMessageSize Size `yaml:"max_message_size"`
	// BatchSize is the FETCH batch used when a client asks for 0.
	BatchSize int `yaml:"batch_size"`
	// AckTimeout is how long a delivered message waits for its ack.
	AckTimeout Duration `yaml:"ack_timeout"`
	// MaxDeliver is the number of delivery attempts before a message moves
	// to <destination>.dlq; -1 means unlimited.
	MaxDeliver int `yaml:"max_deliver"`
	// MaxProgress is how many times a consumer may push one delivery's
	// ack deadline out (PROGRESS, Delivery.InProgress in the Go client).
	MaxProgress int `yaml:"max_progress"`
	// DedupeWindow is how long application message ids (published outside
	// a producer session) are remembered.
	DedupeWindow Duration `yaml:"dedupe_window"`
	// DedupeMax bounds the remembered application ids per partition: at
	// most this many, and at least the newest half, are remembered.
	DedupeMax int `yaml:"dedupe_max"`
	// ProducerWindow is the most messages a producer session may have
	// unacknowledged: the node remembers at least that many of each
	// session's newest messages per partition.
	ProducerWindow int `yaml:"producer_window"`
	// ProducerIdle is how long a producer session's dedupe state stays in a
	// partition after its last message there.
	ProducerIdle Duration `yaml:"producer_idle"`
	// MaxProducers bounds the producer sessions remembered per partition.
	MaxProducers int `yaml:"max_producers"`
	// MaxProducerKeys bounds the messages remembered per partition over all
	// its producer sessions.
	MaxProducerKeys int `yaml:"max_producer_keys"`
	// Fsync is "always" (an ack means fsynced) or "interval".
	Fsync string `yaml:"fsync"`
	// FsyncInterval is the data-loss window of fsync: interval.
	FsyncInterval Duration `yaml:"fsync_interval"`
	// MaxConnections bounds client connections.
	MaxConnections int `yaml:"max_connections"`
	// Credits bounds the requests one connection may have outstanding.
	Credits int `yaml:"credits"`
	// HandshakeTimeout closes connections that send no HELLO in time.
	HandshakeTimeout Duration `yaml:"handshake_timeout"`
	// IdleTimeout closes connections that send no whole frame and have no
	// request outstanding for this long; 0 disables it.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxConnectionsPerIP bounds client connections from one IP address;
	// -1 = unlimited.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// FlowControlPenalty is how long new connections from an IP address
	// are refused (TOO_MANY_CONNECTIONS) after one of its connections was
	// closed with FLOW_CONTROL; it doubles on repeat offences, up to 30s.
	// 0 disables it.
	FlowControlPenalty Duration `yaml:"flow_control_penalty"`
	// MessageCache is the bytes of retained messages kept in memory, shared
	// by every partition; the others are read from the log on delivery.
	MessageCache Size `yaml:"message_cache"`
	// MaxOutbound bounds the replies queued for one connection: beyond it
	// the connection is closed with SLOW_CONSUMER, and from half of it on
	// its requests wait. At least max_message_size.
	MaxOutbound Size `yaml:"max_outbound"`
	// MaxPipeline bounds the bytes of one connection's requests being
	// processed; from it on, its further requests wait (one always goes).
	MaxPipeline Size `yaml:"max_pipeline"`
	// MaxBuffered is the node-wide budget of bytes held for clients
	// (requests in the pipeline, replies not yet written); once spent,
	// connections that hold bytes wait.
	MaxBuffered Size `yaml:"max_buffered"`
	// WriteStallTimeout closes with SLOW_CONSUMER a connection whose
	// queued replies make no write progress for this long.
	WriteStallTimeout Duration `yaml:"write_stall_timeout"`
	// MemoryLimit is the Go runtime's soft memory limit
	// (runtime/debug.SetMemoryLimit), so the heap is returned after
	// bursts; 0 = none. A GOMEMLIMIT environment variable wins over it.
	MemoryLimit Size `yaml:"memory_limit"`
}

// Limits bound each destination.
type Limits struct {
	// MaxMsgs bounds retained messages per destination; 0 = unlimited.
	MaxMsgs int64 `yaml:"max_msgs"`
	// MaxBytes bounds retained payload bytes per destination.
	MaxBytes Size `yaml:"max_bytes"`
	// MaxAge drops messages older than this; 0 = keep until acked.
	MaxAge Duration `yaml:"max_age"`
	// Retention is the retention mode of destinations that set none of
	// their own (swarmctl dest create --retention): "interest" (the
	// default: a message goes once every group acknowledged it) or
	// "limits" (messages stay until the limits drop them).
	Retention string `yaml:"retention"`
}

// Storage holds the settings of the data directory's disk.
type Storage struct {
	// MinFree is the free space kept on the file system of node.data_dir:
	// below it new messages are refused with DISK_FULL (acks still work)
	// until the free space is back above 1.25 × MinFree plus the ballast
	// file (MinFree/4, at most 64 MB). At least twice Pebble's memtable
	// (32 MB): a flush and a new WAL file must fit. 0 disables the reserve
	// and the ballast (a full disk then fails the log until a restart).
	MinFree Size `yaml:"min_free"`
}

// Security holds TLS and sealing settings.
type Security struct {
	// Keyring is the keyring file (docs/sealing.md) the node authenticates
	// sealed payloads with; empty runs the node unsealed.
	Keyring string `yaml:"keyring"`
	// TLSCert is the PEM certificate of the client port; with TLSKey set
	// the client port speaks TLS 1.3 only.
	TLSCert string `yaml:"tls_cert"`
	// TLSKey is its PEM private key.
	TLSKey string `yaml:"tls_key"`
	// TLSCA is a PEM bundle of the CAs client certificates are checked
	// against.
	TLSCA string `yaml:"tls_ca"`
	// PeerCA is a PEM bundle of the CAs the certificates of other nodes
	// are checked against on node-to-node links (mutual TLS, with TLSCert
	// and TLSKey as this node's certificate); empty means TLSCA. Used once
	// clustering is wired.
	PeerCA string `yaml:"peer_ca"`
	// ClientAuth requires a client certificate signed by TLSCA (mutual TLS).
	ClientAuth bool `yaml:"client_auth"`
	// ProducerKeyFile holds the key of producer session tokens (64 hex
	// digits, see ReadProducerKey), read when the node starts (a cluster's
	// is often written just before: make cluster). Required on a cluster,
	// where every node must use the same; a single node without it keeps
	// its own key in its data directory.
	ProducerKeyFile string `yaml:"producer_key_file,omitempty"`
}

// Log configures structured logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Default returns the embedded defaults: a single node on port 9001 with
// data in ./data.
func Default() Config {
	return Config{
		Cluster: Cluster{Name: DefaultClusterName, Partitions: int(wal.DefaultPartitions)},
		Node: Node{ID: DefaultNodeID, Bind: DefaultBind, Port: DefaultPort,
			DataDir: DefaultDataDir, HTTPAddr: DefaultHTTPAddr},
		Performance: Performance{
			MaxMessageSize:      Size(frame.DefaultMaxFrame),
			BatchSize:           DefaultBatchSize,
			AckTimeout:          Duration(queue.DefaultAckTimeout),
			MaxDeliver:          queue.DefaultMaxDeliver,
			MaxProgress:         queue.DefaultMaxProgress,
			DedupeWindow:        Duration(queue.DefaultDedupeWindow),
			DedupeMax:           queue.DefaultDedupeMax,
			ProducerWindow:      queue.DefaultProducerWindow,
			ProducerIdle:        Duration(queue.DefaultProducerIdle),
			MaxProducers:        queue.DefaultMaxProducers,
			MaxProducerKeys:     queue.DefaultMaxProducerKeys,
			Fsync:               "always",
			FsyncInterval:       Duration(wal.DefaultSyncInterval),
			MaxConnections:      netio.DefaultMaxConns,
			Credits:             int(netio.DefaultCredits),
			HandshakeTimeout:    Duration(netio.DefaultHandshakeTimeout),
			IdleTimeout:         Duration(netio.DefaultIdleTimeout),
			MaxConnectionsPerIP: netio.DefaultMaxConnsPerIP,
			FlowControlPenalty:  Duration(netio.DefaultFlowControlPenalty),
			MessageCache:        Size(stages.DefaultMessageCache),
			MaxOutbound:         Size(netio.DefaultMaxOutbound),
			MaxPipeline:         Size(netio.DefaultMaxPipeline),
			MaxBuffered:         Size(netio.DefaultMaxBuffered),
			WriteStallTimeout:   Duration(netio.DefaultWriteStallTimeout),
			MemoryLimit:         DefaultMemoryLimit,
		},
		Limits:  Limits{MaxBytes: Size(queue.DefaultMaxBytes)},
		Storage: Storage{MinFree: Size(wal.DefaultMinFree)},
		Log:     Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}

// Parse decodes a config file's bytes over the defaults. The error lists
// every unknown key and malformed value. Paths stay as written.
func Parse(src []byte) (Config, error) {
	c := Default()
	d, _, err := decodeStrict(src, &c)
	c.from.set, c.from.bad = d.set, d.bad
	return c, err
}

// ClientAddr is the address the client port listens on.
func (c *Config) ClientAddr() string {
	return net.JoinHostPort(c.Node.Bind, strconv.Itoa(c.Node.Port))
}

// Validate checks the values the schema cannot, and lists every problem.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		if !c.from.decodeFailed(path) {
			errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
		}
	}
	c.validateCluster(bad)
	if c.Node.Port < 0 || c.Node.Port > 65535 {
		bad("node.port", "%d is not a port (0..65535)", c.Node.Port)
	}
	if net.ParseIP(c.Node.Bind) == nil && c.Node.Bind != "localhost" {
		bad("node.bind", "%q is not an IP address", c.Node.Bind)
	}
	if c.Node.DataDir == "" {
		bad("node.data_dir", "must not be empty")
	}
	if c.Node.HTTPAddr != "off" {
		if _, _, err := net.SplitHostPort(c.Node.HTTPAddr); err != nil {
			bad("node.http_addr", "%q is not host:port (or \"off\")", c.Node.HTTPAddr)
		}
	}
	c.validatePerformance(bad)
	if c.Limits.MaxMsgs < 0 {
		bad("limits.max_msgs", "must not be negative")
	}
	if _, err := queue.ParseRetention(c.Limits.Retention); err != nil {
		bad("limits.retention", "%q: want interest or limits", c.Limits.Retention)
	}
	if c.Limits.MaxBytes <= 0 {
		bad("limits.max_bytes", "must be positive (there is no unlimited; the default is %s)", Size(queue.DefaultMaxBytes))
	}
	if c.Storage.MinFree < 0 || (c.Storage.MinFree > 0 && c.Storage.MinFree < 2*wal.DefaultMemTableSize) {
		bad("storage.min_free", "%s: want 0 (no reserve) or at least %s (a flush and a new WAL file must fit)",
			c.Storage.MinFree, Size(2*wal.DefaultMemTableSize))
	}
	c.validateSecurity(bad)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	return errors.Join(errs...)
}

func (c *Config) validatePerformance(bad func(string, string, ...any)) {
	p := c.Performance
	if p.MaxMessageSize < 4<<10 || p.MaxMessageSize > 64<<20 {
		bad("performance.max_message_size", "%s is out of range 4KB..64MB", p.MaxMessageSize)
	}
	if p.BatchSize < 1 || p.BatchSize > 100000 {
		bad("performance.batch_size", "%d is out of range 1..100000", p.BatchSize)
	}
	if p.AckTimeout <= 0 {
		bad("performance.ack_timeout", "must be positive")
	}
	if p.MaxDeliver == 0 || p.MaxDeliver < -1 {
		bad("performance.max_deliver", "%d: want a positive count or -1 (unlimited)", p.MaxDeliver)
	}
	if p.MaxProgress < 1 || p.MaxProgress > queue.MaxMaxProgress {
		bad("performance.max_progress", "%d is out of range 1..%d", p.MaxProgress, queue.MaxMaxProgress)
	}
	if p.DedupeWindow <= 0 {
		bad("performance.dedupe_window", "must be positive")
	}
	if p.DedupeMax < 1 || p.DedupeMax > queue.MaxDedupeMax {
		bad("performance.dedupe_max", "%d: want 1 to %d", p.DedupeMax, queue.MaxDedupeMax)
	}
	if p.ProducerWindow < 1 || p.ProducerWindow > queue.MaxDedupeMax {
		bad("performance.producer_window", "%d: want 1 to %d", p.ProducerWindow, queue.MaxDedupeMax)
	}
	if p.ProducerIdle <= 0 {
		bad("performance.producer_idle", "must be positive")
	}
	if p.MaxProducers < 1 {
		bad("performance.max_producers", "must be at least 1")
	}
	if p.MaxProducerKeys < 2*p.ProducerWindow || p.MaxProducerKeys > queue.MaxDedupeMax {
		bad("performance.max_producer_keys", "%d: want 2 × producer_window (%d) to %d", p.MaxProducerKeys, 2*p.ProducerWindow, queue.MaxDedupeMax)
	}
	if _, err := wal.ParseSyncPolicy(p.Fsync); err != nil {
		bad("performance.fsync", "%q is not one of always, interval", p.Fsync)
	}
	if p.Fsync == "interval" && p.FsyncInterval < Duration(wal.MinSyncInterval) {
		bad("performance.fsync_interval", "%s: want at least %s with fsync: interval", p.FsyncInterval, Duration(wal.MinSyncInterval))
	}
	if p.MaxConnections < 1 {
		bad("performance.max_connections", "must be at least 1")
	}
	if p.MessageCache < 0 {
		bad("performance.message_cache", "%s is negative", p.MessageCache)
	}
	if p.Credits < 1 {
		bad("performance.credits", "must be at least 1")
	}
	if p.HandshakeTimeout <= 0 {
		bad("performance.handshake_timeout", "must be positive")
	}
	if p.IdleTimeout < 0 {
		bad("performance.idle_timeout", "must not be negative (0 disables it)")
	}
	if p.FlowControlPenalty < 0 {
		bad("performance.flow_control_penalty", "must not be negative (0 disables it)")
	}
	if p.MaxConnectionsPerIP == 0 || p.MaxConnectionsPerIP < -1 {
		bad("performance.max_connections_per_ip", "%d: want a positive count or -1 (unlimited)", p.MaxConnectionsPerIP)
	}
	c.validateMemory(bad)
}

// DefaultMemoryLimit is performance.memory_limit's default: with the
// default budgets (max_buffered 64MB, message_cache 32MB) it leaves room
// under the 512 MB RSS target for what the Go runtime does not manage:
// Pebble's memtables (16 MiB, up to 4 queued) and block cache, allocated
// outside the Go heap, took about 200 MB of RSS in the memory soak
// (docs/perf.md).
const DefaultMemoryLimit = Size(256 << 20)

func (c *Config) validateMemory(bad func(string, string, ...any)) {
	p := c.Performance
	if p.MaxOutbound < p.MaxMessageSize {
		bad("performance.max_outbound", "%s is below max_message_size %s", p.MaxOutbound, p.MaxMessageSize)
	}
	if p.MaxBuffered < p.MaxMessageSize {
		bad("performance.max_buffered", "%s is below max_message_size %s", p.MaxBuffered, p.MaxMessageSize)
	}
	if p.MaxPipeline < 1 {
		bad("performance.max_pipeline", "must be at least 1")
	}
	if p.WriteStallTimeout <= 0 {
		bad("performance.write_stall_timeout", "must be positive")
	}
	if p.MemoryLimit < 0 {
		bad("performance.memory_limit", "%s is negative", p.MemoryLimit)
	}
}

// YAML renders c as a config file (for --print-config).
func (c *Config) YAML() ([]byte, error) { return yaml.Marshal(c) }

func (c *Config) validateSecurity(bad func(string, string, ...any)) {
	sec := c.Security
	if (sec.TLSCert == "") != (sec.TLSKey == "") {
		bad("security", "tls_cert and tls_key go together")
	}
	for _, f := range []struct{ key, path string }{
		{"security.tls_cert", sec.TLSCert}, {"security.tls_key", sec.TLSKey},
		{"security.tls_ca", sec.TLSCA}, {"security.peer_ca", sec.PeerCA}, {"security.keyring", sec.Keyring},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			bad(f.key, "cannot read %q%s: %v", f.path, c.pathNote(f.key), pathError(err))
		}
	}
	if sec.ClientAuth && sec.TLSCA == "" {
		bad("security.client_auth", "needs security.tls_ca (the CA client certificates are checked against)")
	}
	if sec.TLSCert == "" && (sec.TLSCA != "" || sec.ClientAuth) {
		bad("security", "tls_ca and client_auth need tls_cert and tls_key")
	}
	if sec.TLSCert == "" && sec.PeerCA != "" {
		bad("security.peer_ca", "needs tls_cert and tls_key (this node's certificate on node-to-node links)")
	}
	if c.Node.PlainPort != 0 {
		switch {
		case sec.TLSCert == "":
			bad("node.plain_port", "only with TLS on (without TLS the client port is plaintext already)")
		case c.Node.PlainPort < 0 || c.Node.PlainPort > 65535:
			bad("node.plain_port", "%d is not a port", c.Node.PlainPort)
		case c.Node.PlainPort == c.Node.Port:
			bad("node.plain_port", "must differ from node.port")
		}
	}
}
