package stages

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/cluster/forward"
	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/cluster/placement"
	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/cluster/rlog"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/router"
)

// Cluster makes a node a member of a cluster: its partition log is the
// raft log (cluster/rlog) of the partitions placement gives it, replicated
// over peer links, instead of the local log. Nil in Options: a single node.
type Cluster struct {
	// Members are every node of the cluster, this one (Options.NodeID)
	// included.
	Members []Member
	// ReplicationFactor is the number of replicas of each partition.
	ReplicationFactor int
	// PeerAddr is where this node accepts peer links ("127.0.0.1:0" in
	// tests); "" = its member's Peer address.
	PeerAddr string
	// PeerTLS, when set, runs every peer link over mutual TLS 1.3
	// (peer.TLSConfig).
	PeerTLS *tls.Config
	// Raft tunes the raft engine (zero fields: replica's defaults).
	Raft replica.Options
	// Peer tunes the peer transport (its ID, cluster, partitions, peers,
	// listener, TLS, handler, logger and metrics are set by the node).
	Peer peer.Options
}

// Member is one node of the cluster.
type Member struct {
	// ID is the node id; Client the address clients dial; Peer the
	// address nodes dial.
	ID, Client, Peer string
	// HTTP is its admin address (/health, the admin API), "" if not
	// known; /health lists it so that swarmctl finds every node.
	HTTP string
}

// validate lists the problems of c for the node self of a cluster of
// partitions partitions.
func (c *Cluster) validate(self string) error {
	var errs []error
	ids := make([]string, len(c.Members))
	for i, m := range c.Members {
		ids[i] = m.ID
	}
	errs = append(errs, rlog.CheckIDs(ids))
	if !slices.Contains(ids, self) {
		errs = append(errs, fmt.Errorf("node: node id %q is not among the cluster's members %v", self, ids))
	}
	if c.ReplicationFactor < 1 || c.ReplicationFactor > len(ids) {
		errs = append(errs, fmt.Errorf("node: replication factor %d for %d nodes", c.ReplicationFactor, len(ids)))
	}
	return errors.Join(errs...)
}

// clusterParts are what a cluster member runs beside the stage graph.
type clusterParts struct {
	net   *rlog.Net
	peers *peer.Transport
	fwd   *forward.Forwarder // hands requests for partitions led elsewhere to their leader
	serve *forward.Server    // feeds requests other nodes forward here to decode
	log   *rlog.Log
	incs  *rlog.Incarnations // this node's incarnation and its peers'
	// peersStarted is set once the peer links run (early, when the
	// incarnation is decided over them).
	peersStarted bool
	hosted       []uint32 // partitions replicated here, ascending
	// caughtUp holds the partitions (uint32 → true) that have applied
	// everything they knew committed at least once (/ready).
	caughtUp sync.Map
}

// clusterOwners is a member's first owner table: it leads nothing until
// its log says so.
func clusterOwners(partitions uint32, workers int) (*owner.Map, error) {
	t, err := owner.NewTable(partitions, workers, func(uint32) bool { return false })
	if err != nil {
		return nil, err
	}
	return owner.NewMap(t), nil
}

// buildPeers makes the peer transport and request forwarding (both ways:
// requests forwarded here go into inbound, decode's ring).
func (n *Node) buildPeers(inbound *graph.Ring[netio.Inbound]) error {
	o, c := n.opts, n.opts.Cluster
	nodes := make([]rlog.Node, len(c.Members))
	addrs := map[string]string{}
	self := Member{}
	for i, m := range c.Members {
		nodes[i], addrs[m.ID] = rlog.Node{ID: m.ID, Client: m.Client}, m.Peer
		if m.ID == o.NodeID {
			self = m
		}
	}
	cp := &clusterParts{net: rlog.NewNet(nodes, o.Metrics, o.Logger)}
	ids := make([]string, len(c.Members))
	for i, m := range c.Members {
		ids[i] = m.ID
	}
	var err error
	if cp.incs, err = rlog.LoadIncarnations(n.log, o.NodeID, ids); err != nil {
		return err
	}
	cp.net.SetIncarnations(cp.incs)
	po := c.Peer
	po.ID, po.ClusterName, po.Partitions, po.Peers = o.NodeID, o.ClusterName, o.Partitions, addrs
	po.ListenAddr, po.TLS, po.Handler, po.Logger, po.Metrics = c.PeerAddr, c.PeerTLS, cp.net, o.Logger, o.Metrics
	if po.ListenAddr == "" {
		po.ListenAddr = self.Peer
	}
	if cp.peers, err = peer.New(po); err != nil {
		return err
	}
	cp.net.Attach(cp.peers)
	owners := n.owners
	cp.fwd, err = forward.New(forward.Options{Self: o.NodeID, Call: cp.peers.Call, Metrics: o.Metrics, Logger: o.Logger,
		Leader: func(p uint32) (string, bool) {
			id := owners.Load().Leader(p).ID
			return id, id != ""
		}})
	if err != nil {
		return err
	}
	cp.serve = forward.NewServer(forward.ServerOptions{MaxFrame: o.MaxFrame, Metrics: o.Metrics}, inbound)
	cp.net.ServeRequests(func(from string, payload []byte, r peer.Responder) { cp.serve.Handle(from, payload, r) })
	n.cluster = cp
	return n.decideIncarnation()
}

// Timing of a member's incarnation decision (rlog.Net.Decide).
const (
	decideEvery  = 200 * time.Millisecond
	decideGrace  = 3 * time.Second
	decideReport = 5 * time.Second
)

// decideIncarnation gives a member whose data directory holds no
// incarnation its own: the peer links start early, it asks its peers, and
// waits (logging what for) until they settle it or Stop is called.
func (n *Node) decideIncarnation() error {
	cp := n.cluster
	if inc, ok := cp.incs.Own(); ok {
		n.opts.Logger.Info("cluster member", "incarnation", inc)
		return nil
	}
	if err := n.startPeers(); err != nil {
		return fmt.Errorf("cannot start the peer links: %w", err)
	}
	_, err := cp.net.Decide(context.Background(), rlog.DecideOptions{Nodes: len(n.opts.Cluster.Members),
		Every: decideEvery, Grace: decideGrace, Report: decideReport, Abort: n.abort})
	return err
}

// forwarder is the router's Forwarder: a member's, nil on a single node.
func (n *Node) forwarder() router.Forwarder {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.fwd
}

// buildCluster makes the raft log on deps: the stage that takes the
// node's proposals in place of persist.
func (n *Node) buildCluster(deps plog.Deps) (graph.Stage, error) {
	o, c, cp := n.opts, n.opts.Cluster, n.cluster
	ids := make([]string, len(c.Members))
	nodes := make([]rlog.Node, len(c.Members))
	for i, m := range c.Members {
		ids[i], nodes[i] = m.ID, rlog.Node{ID: m.ID, Client: m.Client}
	}
	hosted, err := placement.Hosted(o.Partitions, ids, c.ReplicationFactor, o.NodeID)
	if err != nil {
		return nil, err
	}
	cp.hosted = hosted
	ro := rlog.Options{Self: o.NodeID, Nodes: nodes, Raft: c.Raft, Metrics: o.Metrics, Logger: o.Logger,
		Incarnations: cp.incs, Announce: cp.net.Announce, SayIncarnation: cp.net.SayIncarnation}
	for _, p := range hosted {
		replicas, err := placement.Replicas(p, ids, c.ReplicationFactor)
		if err != nil {
			return nil, err
		}
		ro.Groups = append(ro.Groups, rlog.Group{Partition: p, Replicas: replicas})
	}
	if cp.log, err = rlog.New(ro, rlog.Deps{Deps: deps, Log: n.log, Transport: cp.net}); err != nil {
		return nil, err
	}
	cp.net.Bind(cp.log.Engine())
	cp.net.OnLeader(cp.log.LearnLeader)
	return cp.log, nil
}

// handOff moves the leadership of the partitions this node leads to their
// followers before it stops (a clean stop costs clients a transfer, not an
// election timeout).
func (n *Node) handOff(ctx context.Context) {
	if n.cluster == nil || n.cluster.log == nil {
		return
	}
	switch left, err := n.cluster.log.HandOff(ctx); {
	case err != nil:
		n.opts.Logger.Warn("stopping while leading partitions", "partitions", left, "err", err.Error())
	case left > 0:
		n.opts.Logger.Info("stopping while leading partitions no follower can take", "partitions", left)
	}
}

// stopServing stops taking forwarded requests (before the graph stops:
// they go into decode's ring).
func (n *Node) stopServing(ctx context.Context) error {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.serve.Stop(ctx)
}

// stopForwarding ends the requests this node forwarded (after the router
// stopped, before the client connections close).
func (n *Node) stopForwarding(ctx context.Context) error {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.fwd.Stop(ctx)
}

// startPeers starts the peer links (before the graph: the raft loop sends
// as soon as it runs).
func (n *Node) startPeers() error {
	if n.cluster == nil || n.cluster.peersStarted {
		return nil
	}
	n.cluster.peersStarted = true
	return n.cluster.peers.Start()
}

// stopPeers closes the peer links (after the graph: the raft loop has
// stopped).
func (n *Node) stopPeers() error {
	if n.cluster == nil || n.cluster.peers == nil {
		return nil
	}
	err := n.cluster.peers.Close()
	n.cluster.net.Close() // after the links: its snapshot senders fail at once
	return err
}

// checkLogMode refuses a data directory of the other mode: a single
// node's log replayed by raft, or a raft log (with uncommitted entries
// and raft's own) replayed as a single node's.
func (n *Node) checkLogMode() error {
	isRaft, err := n.log.IsRaft()
	if err != nil {
		return err
	}
	format2, err := rlog.HasIncarnation(n.log)
	if err != nil {
		return err
	}
	switch {
	case isRaft && n.opts.Cluster != nil && !format2:
		return fmt.Errorf("the data directory %s holds cluster data format 1 (raft ids without incarnations), which "+
			"this version cannot open: start this member on an empty data directory; it rejoins as a new incarnation "+
			"and catches up from its peers (docs/cluster.md, \"A wiped or replaced node\")", n.opts.DataDir)
	case isRaft && n.opts.Cluster == nil:
		return fmt.Errorf("the data directory %s was written by a cluster member (raft); a single node cannot open it: "+
			"run this node with its cluster configuration, or start the single node on an empty data directory", n.opts.DataDir)
	case !isRaft && n.opts.Cluster != nil && n.hasEntries():
		return fmt.Errorf("the data directory %s was written by a single node; a cluster member cannot open it "+
			"(its log is not a raft log): start the member on an empty data directory", n.opts.DataDir)
	}
	return nil
}

// hasEntries reports whether any partition's log has an entry.
func (n *Node) hasEntries() bool {
	for p := range n.opts.Partitions {
		if n.log.LastIndex(p) > 0 {
			return true
		}
	}
	return false
}

// Leaders returns, for each partition, the client address of its leader
// as this node knows it ("" if unknown), and an epoch that increases
// whenever any of them changes. On a single node every partition is led
// here (its own client address) and the epoch stays 0. Before Start it
// returns nil. Safe for concurrent use (one atomic load).
func (n *Node) Leaders() (uint64, []string) {
	if n.owners == nil || n.server == nil {
		return 0, nil // not started
	}
	t := n.owners.Load()
	if n.opts.Cluster == nil {
		addrs := make([]string, t.Partitions())
		for i := range addrs {
			addrs[i] = n.server.Addr().String()
		}
		return 0, addrs
	}
	return t.Epoch(), t.LeaderAddrs(make([]string, 0, t.Partitions()))
}

// FollowedHealth is a partition this member replicates and does not lead.
type FollowedHealth struct {
	Partition uint32 `json:"partition"`
	Leader    string `json:"leader"` // node id, "" if none is known
	Term      uint64 `json:"term"`
	// ApplyLag is the committed entries not yet applied here.
	ApplyLag uint64 `json:"apply_lag"`
}

// PeerHealth is one peer link.
type PeerHealth struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	Connected bool   `json:"connected"`
	// LastContactSeconds is how long ago the peer was last heard from (-1:
	// never).
	LastContactSeconds float64 `json:"last_contact_seconds"`
	Reconnects         uint64  `json:"reconnects"`
	LastError          string  `json:"last_error,omitempty"`
}

// clusterHealth fills h's cluster fields.
func (n *Node) clusterHealth(h *Health) {
	if n.cluster == nil {
		return
	}
	if inc, ok := n.cluster.incs.Own(); ok {
		h.Incarnation = &inc
	}
	t := n.owners.Load()
	h.PartitionTerms = map[string]uint64{}
	h.PartitionsFollowed = []FollowedHealth{}
	for _, s := range n.cluster.log.Status() {
		if t.Leads(s.Partition) {
			h.PartitionTerms[fmt.Sprint(s.Partition)] = s.Term
			continue
		}
		h.PartitionsFollowed = append(h.PartitionsFollowed, FollowedHealth{Partition: s.Partition, Leader: s.Leader,
			Term: s.Term, ApplyLag: s.Commit - min(s.Applied, s.Commit)})
	}
	h.Peers, h.PeerLinks = []string{}, []PeerHealth{}
	for _, p := range n.cluster.peers.Peers() {
		ph := PeerHealth{ID: p.ID, Addr: p.Addr, Connected: p.Connected, Reconnects: p.Reconnects, LastContactSeconds: -1}
		if !p.LastContact.IsZero() {
			ph.LastContactSeconds = time.Since(p.LastContact).Seconds()
		}
		if p.LastError != nil {
			ph.LastError = p.LastError.Error()
		}
		h.Peers = append(h.Peers, p.ID)
		h.PeerLinks = append(h.PeerLinks, ph)
	}
}

// caughtUp reports whether a member is ready: every partition it
// replicates has a known leader and has once applied everything it knew
// committed (latched per partition, so a busy partition stays ready).
// A single node is always caught up.
func (n *Node) caughtUp() bool {
	if n.cluster == nil {
		return true
	}
	ready := true
	for _, s := range n.cluster.log.Status() {
		if s.Leader == "" {
			ready = false
			continue
		}
		if _, ok := n.cluster.caughtUp.Load(s.Partition); ok {
			continue
		}
		if s.Applied >= s.Commit {
			n.cluster.caughtUp.Store(s.Partition, true)
			continue
		}
		ready = false
	}
	return ready
}

// leaders is what answers METADATA: Options.Leaders when given, a
// member's leadership table, or nil on a single node (netio then names
// itself the leader of every partition).
func (n *Node) leaders() func() (uint64, []string) {
	switch {
	case n.opts.Leaders != nil:
		return n.opts.Leaders
	case n.opts.Cluster != nil:
		return n.Leaders
	}
	return nil
}
