package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/swarmmq/swarmmq/conf"
	"github.com/swarmmq/swarmmq/test/netproxy"
)

// Defaults of ClusterSpec.
const (
	DefaultClusterName = "chaos"
	// DefaultClusterPartitions is small so that every node leads some
	// partitions and a run's destinations spread over several leaders.
	DefaultClusterPartitions = 8
)

// ClusterSpec makes the nodes of a Cluster members of one SwarmMQ
// cluster: Start writes each node a config file listing every node, in
// which every peer address but the node's own is the address of a proxy
// the harness owns (one per directed link, Cluster.Link), and starts the
// node with --config and --node-id. A plain value.
type ClusterSpec struct {
	// Name is cluster.name (default DefaultClusterName).
	Name string
	// Partitions is cluster.partitions (default DefaultClusterPartitions).
	Partitions int
	// Replication is cluster.replication_factor (default 3, or 1 below
	// three nodes).
	Replication int
	// ProducerKeyFile is security.producer_key_file, shared by every node
	// (Start writes one into the run directory).
	ProducerKeyFile string
}

func (s *ClusterSpec) ensureDefaults(nodes int) {
	if s.Name == "" {
		s.Name = DefaultClusterName
	}
	if s.Partitions == 0 {
		s.Partitions = DefaultClusterPartitions
	}
	if s.Replication == 0 {
		s.Replication = 3
		if nodes < 3 {
			s.Replication = 1
		}
	}
}

// link names a directed link: the connections from node From to node To's
// peer address.
type link struct{ from, to string }

// ConfigYAML returns node self's config file: the cluster section listing
// every node of specs with its client, peer and HTTP address, where the
// peer address of every other node j is peerVia(j) (the proxy of the link
// self → j) and self's own is the one it listens on.
func (s ClusterSpec) ConfigYAML(specs []NodeSpec, self int, peerVia func(j int) string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by the test/cluster harness for %s: every other node's peer_address\n", specs[self].ID)
	b.WriteString("# is a proxy of the harness on the link to it.\n")
	fmt.Fprintf(&b, "cluster:\n  name: %q\n  partitions: %d\n  replication_factor: %d\n  nodes:\n", s.Name, s.Partitions, s.Replication)
	for j, n := range specs {
		peer := n.PeerAddr
		if j != self {
			peer = peerVia(j)
		}
		fmt.Fprintf(&b, "    - id: %q\n      address: %q\n      peer_address: %q\n      http_address: %q\n",
			n.ID, n.ClientAddr, peer, n.HTTPAddr)
	}
	if s.ProducerKeyFile != "" {
		fmt.Fprintf(&b, "security:\n  producer_key_file: %q\n", s.ProducerKeyFile)
	}
	return []byte(b.String())
}

// startLinks starts a proxy for every directed link between the nodes of
// specs, forwarding to the peer address of the link's target.
func (c *Cluster) startLinks(specs []NodeSpec) error {
	c.links = map[link]*netproxy.Proxy{}
	for _, a := range specs {
		for _, b := range specs {
			if a.ID == b.ID {
				continue
			}
			p, err := netproxy.New(b.PeerAddr)
			if err != nil {
				return fmt.Errorf("cluster: proxy %s→%s: %w", a.ID, b.ID, err)
			}
			c.links[link{a.ID, b.ID}] = p
		}
	}
	return nil
}

// writeConfigs writes each node's config file into the run directory and
// returns the flags that start node i on it.
func (c *Cluster) writeConfigs(specs []NodeSpec) ([][]string, error) {
	if c.opts.Cluster.ProducerKeyFile == "" {
		key := filepath.Join(c.Dir, "producer.key")
		if err := conf.GenerateProducerKey(key); err != nil {
			return nil, err
		}
		c.opts.Cluster.ProducerKeyFile = key
	}
	flags := make([][]string, len(specs))
	for i, s := range specs {
		yaml := c.opts.Cluster.ConfigYAML(specs, i, func(j int) string { return c.links[link{s.ID, specs[j].ID}].Addr() })
		path := filepath.Join(c.Dir, s.ID+".yaml")
		if err := os.WriteFile(path, yaml, 0o644); err != nil {
			return nil, err
		}
		flags[i] = []string{"--config", path}
	}
	return flags, nil
}

// closeLinks closes every proxy.
func (c *Cluster) closeLinks() {
	for _, p := range c.links {
		_ = p.Close()
	}
}

// Link returns the proxy of the directed link from → to, or nil when the
// cluster has none (a single node, or an unknown id).
func (c *Cluster) Link(from, to string) *netproxy.Proxy { return c.links[link{from, to}] }

// Cut cuts the links between nodes a and b in both directions, with
// netproxy.Reset or netproxy.Blackhole.
func (c *Cluster) Cut(a, b string, mode netproxy.Mode) error {
	return c.each(a, b, func(p *netproxy.Proxy) { p.Cut(mode) })
}

// Heal heals the links between a and b in both directions (their delay
// stays).
func (c *Cluster) Heal(a, b string) error {
	return c.each(a, b, (*netproxy.Proxy).Heal)
}

// Delay adds d to the bytes each way on the links between a and b.
func (c *Cluster) Delay(a, b string, d time.Duration) error {
	return c.each(a, b, func(p *netproxy.Proxy) { p.Delay(d, d) })
}

func (c *Cluster) each(a, b string, f func(*netproxy.Proxy)) error {
	ab, ba := c.links[link{a, b}], c.links[link{b, a}]
	if ab == nil || ba == nil {
		return fmt.Errorf("cluster: no link between %q and %q", a, b)
	}
	f(ab)
	f(ba)
	return nil
}

// Isolate cuts every link to and from node id: it still runs and still
// answers clients and /health, but hears no other node and no other node
// hears it.
func (c *Cluster) Isolate(id string, mode netproxy.Mode) error {
	return c.eachOf(id, func(other string) error { return c.Cut(id, other, mode) })
}

// Rejoin heals every link to and from node id.
func (c *Cluster) Rejoin(id string) error {
	return c.eachOf(id, func(other string) error { return c.Heal(id, other) })
}

func (c *Cluster) eachOf(id string, f func(other string) error) error {
	if c.Node(id) == nil || len(c.links) == 0 {
		return fmt.Errorf("cluster: %q is not a node of a cluster", id)
	}
	var errs []error
	for _, n := range c.Nodes {
		if n.Spec.ID != id {
			errs = append(errs, f(n.Spec.ID))
		}
	}
	return errors.Join(errs...)
}

// HealAll heals every link and removes every delay.
func (c *Cluster) HealAll() {
	for _, p := range c.links {
		p.Heal()
		p.Delay(0, 0)
	}
}

// nodeID is the id of the i-th node (from 0).
func nodeID(i int) string { return "node-" + strconv.Itoa(i+1) }
