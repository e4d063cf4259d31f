package stages

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/stages/ack"
	"github.com/swarmmq/swarmmq/stages/decode"
	"github.com/swarmmq/swarmmq/stages/dedupe"
	"github.com/swarmmq/swarmmq/stages/fanout"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/persist"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/router"
	"github.com/swarmmq/swarmmq/stages/verify"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// Node is one SwarmMQ node. Safe for concurrent use.
type Node struct {
	opts  Options
	start time.Time
	ready atomic.Bool

	mu struct {
		sync.Mutex
		started, stopped bool
	}
	log         *wal.Log
	health      func() (string, error) // the log's health; set once at Start
	producerKey []byte                 // keys the tokens of producer sessions (netio.Options.ProducerKey)
	parts       []*queue.Partition
	owners      *owner.Map    // who serves each partition here; set once at Start
	cache       *queue.Budget // retained messages in memory; set once at Start
	topo        *graph.Topology
	fan         *fanout.Stage              // answers the admin endpoints' reads (Inspect); set once at Start
	propose     *graph.Ring[plog.Proposal] // the partition log's input: the admin endpoints' records; set once at Start
	qopts       queue.Options              // the partitions' options; set once at Start
	cluster     *clusterParts              // a cluster member's raft log and peer links; nil on a single node
	abort       chan struct{}              // closed by Stop: ends a Start that waits (a member deciding its incarnation)
	abortOnce   sync.Once
	server      *netio.Server
	http        *httpServer
}

// New checks opts and returns a node; it opens and starts nothing.
func New(opts Options) (*Node, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Node{opts: opts, abort: make(chan struct{})}, nil
}

// Metrics returns the node's metric set (register it to expose it).
func (n *Node) Metrics() *metrics.Set { return n.opts.Metrics }

// Addr returns the client port's address once started.
func (n *Node) Addr() net.Addr { return n.server.Addr() }

// PlainAddr returns the extra plaintext listener's address, or nil.
func (n *Node) PlainAddr() net.Addr { return n.server.PlainAddr() }

// HTTPAddr returns the admin address once started, or nil if disabled.
func (n *Node) HTTPAddr() net.Addr {
	if n.http == nil {
		return nil
	}
	return n.http.addr()
}

// Start opens the log, rebuilds the partitions from it, and starts serving.
// On error everything started is stopped again.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.started {
		return errors.New("swarmmq/stages: node already started")
	}
	n.mu.started = true
	n.start = time.Now()
	if err := n.open(); err != nil {
		_ = n.closeLog()
		return err
	}
	n.checkSealing()
	if err := n.build(); err != nil {
		_ = n.stopPeers()
		_ = n.closeLog()
		return err
	}
	if err := n.startPeers(); err != nil {
		_ = n.stopPeers()
		_ = n.closeLog()
		return fmt.Errorf("cannot start the peer links: %w", err)
	}
	if err := n.topo.Start(); err != nil {
		_ = n.stopPeers()
		_ = n.closeLog()
		return err
	}
	if err := n.startHTTP(); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.topo.Stop(ctx)
		_ = n.stopPeers()
		_ = n.closeLog()
		return err
	}
	n.ready.Store(true)
	if n.opts.Keyring == nil {
		n.opts.Logger.Warn("unsealed mode: no keyring configured (security.keyring); payloads are accepted and stored " +
			"in clear, and sealed messages are refused with UNKNOWN_KEY")
	} else {
		n.opts.Logger.Info("sealed mode: every message must be sealed with a key of the keyring",
			"keys", len(n.opts.Keyring.IDs()), "current", n.opts.Keyring.Current())
	}
	if n.opts.TLS != nil {
		n.opts.Logger.Info("client port speaks TLS 1.3 only", "client_auth", n.opts.TLS.ClientAuth.String())
		if a := n.server.PlainAddr(); a != nil {
			n.opts.Logger.Warn("plaintext listener on, for trusted networks only", "plain_addr", a.String())
		}
	}
	n.opts.Logger.Info("node started", "node", n.opts.NodeID, "addr", n.server.Addr().String(),
		"partitions", n.opts.Partitions, "data", n.opts.DataDir, "fsync", n.opts.Sync.String())
	return nil
}

// open opens the log and restores every partition from it.
func (n *Node) open() error {
	log, err := wal.Open(wal.Options{
		Dir: n.opts.DataDir, FS: n.opts.FS, Partitions: n.opts.Partitions,
		Sync: n.opts.Sync, SyncInterval: n.opts.SyncInterval, MemTableSize: n.opts.MemTableSize,
		MinFree: n.opts.MinFree, DiskUsage: n.opts.DiskUsage,
		Metrics: n.opts.Metrics, Logger: n.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("cannot open the log in %s: %w", n.opts.DataDir, err)
	}
	n.log = log
	n.health = log.Health
	if err := n.checkLogMode(); err != nil {
		return err
	}
	// Without the secret (a nearly full disk opened read-only, say) the
	// node runs without producer sessions: clients fall back to
	// application ids.
	if n.producerKey, err = log.Secret("producer", netio.ProducerKeySize); err != nil {
		n.opts.Logger.Warn("producer sessions off: cannot read or store the node's producer secret", "err", err)
	}
	begin := time.Now()
	records := 0
	qopts := n.opts.Queue
	if qopts.Memory == nil {
		qopts.Memory = queue.NewBudget(max(n.opts.MessageCache, 0))
	}
	n.cache = qopts.Memory
	n.qopts = qopts
	n.opts.Metrics.GetOrCreateGauge("swarmmq_message_cache_bytes", func() float64 { return float64(n.cache.Used()) })
	n.opts.Metrics.GetOrCreateGauge("swarmmq_message_cache_limit_bytes", func() float64 { return float64(n.cache.Limit()) })
	if n.opts.Cluster != nil {
		// A member's partitions start empty: the raft engine restores each
		// from its snapshot and re-applies its committed entries, through
		// the partition log's outputs, once the graph runs.
		for p := range n.opts.Partitions {
			part, err := queue.New(p, qopts)
			if err != nil {
				return err
			}
			n.parts = append(n.parts, part)
		}
		return nil
	}
	for p := uint32(0); p < n.opts.Partitions; p++ {
		part, k, err := restore(log, p, qopts)
		if err != nil {
			return err
		}
		records += k
		n.parts = append(n.parts, part)
	}
	n.opts.Logger.Info("log replayed", "records", records, "took", time.Since(begin).String())
	return nil
}

// restore rebuilds partition p: its snapshot, then every record after it.
func restore(log *wal.Log, p uint32, qopts queue.Options) (*queue.Partition, int, error) {
	part, err := queue.New(p, qopts)
	if err != nil {
		return nil, 0, err
	}
	at, snap, ok, err := log.LoadSnapshot(p)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot load the snapshot of partition %d: %w", p, err)
	}
	if ok {
		read := func(index uint64) ([]byte, error) { return log.Read(p, index, nil) }
		if err := part.Restore(snap, read); err != nil {
			return nil, 0, fmt.Errorf("cannot restore partition %d from its snapshot at %d: %w", p, at, err)
		}
	}
	var rec queue.Record
	var res []queue.Result
	n := 0
	err = log.Replay(p, at, func(index uint64, data []byte) error {
		if err := queue.DecodeRecord(data, &rec); err != nil {
			return fmt.Errorf("record %d: %w", index, err)
		}
		res, err = part.Apply(index, &rec, res[:0])
		n++
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("cannot replay partition %d: %w", p, err)
	}
	return part, n, nil
}

// topology describes the node's graph: every ring, its consumer, lanes
// and capacity, and the stages that feed it. The rings are made from it.
func topology(o Options) *graph.Topology {
	t := &graph.Topology{}
	for _, r := range []struct {
		name, to string
		lanes    int
	}{
		{"decode", "decode", 1}, {"verify", "verify", 1}, {"dedupe", "dedupe", 1}, {"route", "route", 1},
		{"persist", "persist", 1},                                            // proposals: the partition log's input
		{"fanout", "fanout", o.Workers}, {"fanout-log", "fanout", o.Workers}, // FETCH, NACK; the log's outcomes
		{"ack", "ack", 1},
	} {
		t.AddRing(r.name, r.to, r.lanes, o.RingSize)
	}
	for _, e := range []struct {
		from, ring string
		feedback   bool
	}{
		{"netio", "decode", false}, {"decode", "verify", false}, {"verify", "dedupe", false},
		{"dedupe", "route", false}, {"route", "persist", false}, {"route", "fanout", false},
		{"persist", "fanout-log", false}, {"fanout", "ack", false},
		{"fanout", "persist", true}, // TryPush only: GroupCreate, DeadLetter
	} {
		t.AddEdge(e.from, e.ring, e.feedback)
	}
	return t
}

// rings are the node's rings, made from its topology.
type rings struct {
	inbound                    *graph.Ring[netio.Inbound]
	verify, dedupe, route, ack *graph.Ring[*work.Request]
	propose                    *graph.Ring[plog.Proposal]
	fanout                     []*graph.Ring[*work.Request]
	committed                  []*graph.Ring[plog.Output]
}

// makeRings makes every ring of t.
func makeRings(t *graph.Topology) (rings, error) {
	var rs rings
	var errs []error
	one := func(name string) *graph.Ring[*work.Request] {
		r, err := graph.MakeRing[*work.Request](t, name)
		errs = append(errs, err)
		return r
	}
	var err error
	rs.inbound, err = graph.MakeRing[netio.Inbound](t, "decode")
	errs = append(errs, err)
	rs.verify, rs.dedupe, rs.route, rs.ack = one("verify"), one("dedupe"), one("route"), one("ack")
	rs.propose, err = graph.MakeRing[plog.Proposal](t, "persist")
	errs = append(errs, err)
	rs.fanout, err = graph.MakeRings[*work.Request](t, "fanout")
	errs = append(errs, err)
	rs.committed, err = graph.MakeRings[plog.Output](t, "fanout-log")
	errs = append(errs, err)
	return rs, errors.Join(errs...)
}

// build makes the rings from the topology and wires the stages to them.
func (n *Node) build() error {
	o := n.opts
	owners, err := owner.New(o.Partitions, o.Workers)
	if o.Cluster != nil {
		owners, err = clusterOwners(o.Partitions, o.Workers)
	}
	if err != nil {
		return err
	}
	n.owners = owners
	t := topology(o)
	rs, err := makeRings(t)
	if err != nil {
		return err
	}
	if o.Cluster != nil {
		if err := n.buildPeers(rs.inbound); err != nil {
			return err
		}
	}
	cache := route.NewCache(o.Partitions, 0)
	server, err := netio.New(netio.Options{
		Addr: o.ClientAddr, TLS: o.TLS, PlainAddr: o.PlainAddr, NodeID: o.NodeID, Partitions: o.Partitions, Multicore: true,
		MaxConns: o.MaxConns, MaxFrame: o.MaxFrame, Credits: o.Credits, MaxOutbound: o.MaxOutbound,
		HandshakeTimeout: o.HandshakeTimeout, IdleTimeout: o.IdleTimeout, MaxConnsPerIP: o.MaxConnsPerIP,
		ProducerKey: n.sessionKey(), ProducerWindow: uint32(producerWindow(o.Queue)),
		MaxBuffered: o.MaxBuffered, WriteStallTimeout: o.WriteStallTimeout, MaxPipeline: o.MaxPipeline,
		FlowControlPenalty: o.FlowControlPenalty,
		Logger:             o.Logger, Metrics: o.Metrics,
		Leaders: n.leaders(), Limits: clientLimits(o),
	}, rs.inbound)
	if err != nil {
		return err
	}
	n.server = server
	dec, err := decode.New(decode.Options{MaxFrame: o.MaxFrame, FetchBatch: o.FetchBatch, Metrics: o.Metrics},
		decode.Deps{In: rs.inbound, Out: rs.verify, Route: cache, Now: o.Now})
	if err != nil {
		return err
	}
	ver, _ := verify.New(verify.Options{MaxFrame: o.MaxFrame, Keyring: o.Keyring, Metrics: o.Metrics}, verify.Deps{In: rs.verify, Out: rs.dedupe})
	ded, _ := dedupe.New(dedupe.Options{Metrics: o.Metrics}, dedupe.Deps{In: rs.dedupe, Out: rs.route, Lookup: n.lookup})
	rou, _ := router.New(router.Deps{In: rs.route, Log: rs.propose, Fanout: rs.fanout, Owners: n.owners, Now: o.Now,
		Forward: n.forwarder()})
	per, snaps, err := n.partitionLog(plog.Deps{In: rs.propose, Out: rs.committed, Owners: n.owners, Now: o.Now})
	if err != nil {
		return err
	}
	fan, err := fanout.New(fanout.Options{Workers: o.Workers, MaxFrame: o.MaxFrame, SnapshotEvery: o.SnapshotEvery,
		Metrics: o.Metrics, Logger: o.Logger},
		fanout.Deps{In: rs.fanout, Log: rs.committed, Ack: rs.ack, Feedback: rs.propose, Owners: n.owners,
			Partitions: n.parts, WAL: n.log, Snapshots: snaps, Now: o.Now,
			NewPartition: func(p uint32) (*queue.Partition, error) { return queue.New(p, n.qopts) }})
	if err != nil {
		return err
	}
	n.fan = fan
	n.propose = rs.propose
	ac, _ := ack.New(ack.Options{Metrics: o.Metrics}, ack.Deps{In: rs.ack, Now: o.Now})
	for _, s := range []struct {
		name  string
		stage graph.Stage
	}{{"netio", readSide{server}}, {"decode", dec}, {"verify", ver}, {"dedupe", ded}, {"route", rou},
		{"persist", per}, {"fanout", fan}, {"ack", ac}} {
		t.AddStage(s.name, s.stage)
	}
	if err := t.Validate(); err != nil {
		return err
	}
	t.Metrics(o.Metrics)
	n.topo = t
	return nil
}

// partitionLog builds the partition log: persist (the local log) on a
// single node, the raft log on a cluster member; and where fanout stores
// its snapshots.
func (n *Node) partitionLog(deps plog.Deps) (graph.Stage, fanout.Snapshotter, error) {
	if n.opts.Cluster != nil {
		s, err := n.buildCluster(deps)
		if err != nil {
			return nil, nil, err
		}
		return s, n.cluster.log, nil
	}
	s, err := persist.New(persist.Options{Metrics: n.opts.Metrics}, persist.Deps{Deps: deps, Log: n.log})
	return s, n.log, err
}

// producerWindow is the ProducerWindow the partitions of o run with.
func producerWindow(o queue.Options) int {
	o.EnsureDefaults()
	return o.ProducerWindow
}

// lookup answers the dedupe stage from the partition's applied dedupe
// state (fanout swaps a partition a snapshot restores).
func (n *Node) lookup(p uint32, dest []byte, session bool, producer uint64, id [16]byte) (uint64, bool) {
	return n.fan.Lookup(p, dest, session, producer, id)
}

// Stop stops serving (netio first, so nothing new arrives), drains every
// ring, and closes the log. Idempotent; bounded by ctx.
func (n *Node) Stop(ctx context.Context) error {
	n.abortOnce.Do(func() { close(n.abort) })
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.mu.started || n.mu.stopped {
		return nil
	}
	n.mu.stopped = true
	n.ready.Store(false)
	var errs []error
	if n.topo != nil {
		n.handOff(ctx)
		// Sources first: netio stops reading, each ring drains into the
		// next stage; then netio flushes the last replies and closes.
		errs = append(errs, n.stopServing(ctx), n.topo.Stop(ctx), n.stopForwarding(ctx), n.server.Stop(ctx), n.stopPeers())
	}
	if n.http != nil {
		errs = append(errs, n.http.stop(ctx))
	}
	errs = append(errs, n.closeLog())
	n.opts.Logger.Info("node stopped", "node", n.opts.NodeID)
	return errors.Join(errs...)
}

func (n *Node) closeLog() error {
	if n.log == nil {
		return nil
	}
	err := n.log.Close()
	n.log = nil
	return err
}

var _ http.Handler = (*httpServer)(nil)

// readSide is netio's place in the topology: stopping it stops reading
// (and accepting) only, so the replies of everything already read still go
// out; Node.Stop closes the connections after the pipeline has drained.
type readSide struct{ s *netio.Server }

func (r readSide) Start() error { return r.s.Start() }

func (r readSide) Stop(context.Context) error {
	r.s.StopReading()
	return nil
}
