package stages

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/stages/decode"
	"github.com/swarmmq/swarmmq/stages/fanout"
	"github.com/swarmmq/swarmmq/wal"
)

// DefaultRingSize is the capacity of each ring between stages.
const DefaultRingSize = 4096

// DefaultMessageCache is the bytes of retained messages a node keeps in
// memory by default.
const DefaultMessageCache = 32 << 20

// Options configures a node. Zero values take defaults.
type Options struct {
	// NodeID names the node (HELLO_OK, /health).
	NodeID string
	// ClusterName appears in /health.
	ClusterName string
	// Partitions is the fixed partition count of the data directory.
	Partitions uint32
	// ClientAddr is the client port's listen address ("127.0.0.1:0" in tests).
	ClientAddr string
	// TLS, when set, makes the client port speak TLS 1.3 only.
	TLS *tls.Config
	// PlainAddr, with TLS set, is an additional plaintext listener; "" = none.
	PlainAddr string
	// Leaders answers METADATA (netio.Options.Leaders): the epoch and each
	// partition's leader's client address; nil: a single node.
	Leaders func() (epoch uint64, addrs []string)
	// ProducerKey, when set (netio.ProducerKeySize bytes), keys the tokens
	// of producer sessions instead of the secret kept in the data
	// directory. Every node of a cluster must use the same key, so that a
	// client moving to a new leader resumes its session there and its
	// retries are recognised (docs/protocol.md, "Sessions across nodes").
	ProducerKey []byte
	// HTTPAddr serves /health, /ready, /metrics, /debug/pprof; "" or "off"
	// disables it.
	HTTPAddr string
	// Version is the build's version, shown by GET /v1/status; "" shows
	// "unknown".
	Version string
	// DataDir holds the Pebble log.
	DataDir string
	// FS is the file system of the log (tests: vfs.NewMem); nil = the OS.
	FS vfs.FS
	// Sync is the fsync policy; SyncInterval its interval.
	Sync         wal.SyncPolicy
	SyncInterval time.Duration
	// MinFree is the free-space reserve of the data directory's file
	// system (wal.Options.MinFree: 0 = wal.DefaultMinFree, negative =
	// none): below it new messages are refused with DISK_FULL.
	MinFree int64
	// DiskUsage replaces the statfs of the data directory (tests); nil =
	// FS.GetDiskUsage.
	DiskUsage func() (vfs.DiskUsage, error)
	// MemTableSize is Pebble's memtable size (0 = wal.DefaultMemTableSize).
	MemTableSize uint64
	// MaxFrame bounds frames (so messages) on the wire.
	MaxFrame int
	// FetchBatch is the FETCH size when a client asks for 0.
	FetchBatch int
	// Keyring authenticates sealed payloads (verify stage); nil runs the
	// node in the explicit, logged unsealed mode.
	Keyring *seal.Keyring
	// Queue configures every partition's state machine. With Queue.Memory
	// nil, each Start makes a budget of MessageCache bytes shared by every
	// partition.
	Queue queue.Options
	// MessageCache is the bytes of retained messages kept in memory; the
	// others are read back from the log when delivered (see queue.Budget).
	// 0 = DefaultMessageCache, negative = none.
	MessageCache int64
	// MaxConns, Credits, HandshakeTimeout, IdleTimeout, MaxOutbound
	// configure netio (MaxOutbound: bytes queued for a client that does
	// not read before it is closed with SLOW_CONSUMER; 0 = netio's default).
	MaxOutbound      int
	MaxConns         int
	Credits          uint32
	HandshakeTimeout time.Duration
	IdleTimeout      time.Duration
	// MaxBuffered and WriteStallTimeout configure netio's memory bounds:
	// the node-wide budget of bytes held for clients, and how long queued
	// replies may make no write progress (0 = netio's defaults).
	MaxBuffered       int64
	WriteStallTimeout time.Duration
	// MaxPipeline bounds the bytes of one connection's requests in the
	// pipeline (0 = netio's default).
	MaxPipeline int
	// MaxConnsPerIP bounds connections from one client IP address (0 =
	// netio's default, negative = no limit).
	MaxConnsPerIP int
	// FlowControlPenalty is how long new connections from an address are
	// refused after one of its connections met FLOW_CONTROL (0 = netio's
	// default, negative = off).
	FlowControlPenalty time.Duration
	// Cluster, when set, makes the node a member of a cluster (its
	// partition log is raft's); nil runs a single node.
	Cluster *Cluster
	// Workers is the number of fanout workers (partition owners).
	Workers int
	// SnapshotEvery is the number of records a partition applies between
	// snapshots (which let the log prefix be trimmed); 0 = the default.
	SnapshotEvery uint64
	// RingSize is the capacity of each ring.
	RingSize int
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// Metrics is the node's metric set; nil creates one (see Node.Metrics).
	Metrics *metrics.Set
	// Now is the clock (unix ns); nil = time.Now.
	Now func() int64
}

// EnsureDefaults fills zero fields with defaults.
func (o *Options) EnsureDefaults() {
	if o.NodeID == "" {
		o.NodeID = "node-1"
	}
	if o.ClusterName == "" {
		o.ClusterName = "swarmmq"
	}
	if o.Partitions == 0 {
		o.Partitions = wal.DefaultPartitions
	}
	if o.ClientAddr == "" {
		o.ClientAddr = "127.0.0.1:9001"
	}
	if o.DataDir == "" {
		o.DataDir = "./data"
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = frame.DefaultMaxFrame
	}
	if o.FetchBatch == 0 {
		o.FetchBatch = decode.DefaultFetchBatch
	}
	if o.MaxConns == 0 {
		o.MaxConns = netio.DefaultMaxConns
	}
	if o.Credits == 0 {
		o.Credits = netio.DefaultCredits
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = netio.DefaultHandshakeTimeout
	}
	if o.Workers == 0 {
		o.Workers = fanout.DefaultWorkers
	}
	if o.RingSize == 0 {
		o.RingSize = DefaultRingSize
	}
	if o.MessageCache == 0 {
		o.MessageCache = DefaultMessageCache
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Now == nil {
		o.Now = func() int64 { return time.Now().UnixNano() }
	}
	o.Queue.EnsureDefaults()
}

// Validate lists every problem of o, including those of the packages it
// configures.
func (o Options) Validate() error {
	var errs []error
	if o.RingSize < 16 {
		errs = append(errs, fmt.Errorf("node: ring size %d < 16", o.RingSize))
	}
	if o.Workers < 1 || o.Workers > int(o.Partitions) {
		errs = append(errs, fmt.Errorf("node: %d fanout workers for %d partitions", o.Workers, o.Partitions))
	}
	errs = append(errs, o.Queue.Validate())
	if o.Cluster != nil {
		errs = append(errs, o.Cluster.validate(o.NodeID))
	}
	return errors.Join(errs...)
}
