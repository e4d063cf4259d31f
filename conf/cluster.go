package conf

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Defaults and bounds of the cluster section.
const (
	// DefaultClusterName is cluster.name when the file gives none.
	DefaultClusterName = "swarmmq"
	// DefaultReplicationFactor is cluster.replication_factor on a cluster
	// of three nodes or more; smaller clusters default to 1.
	DefaultReplicationFactor = 3
	// MaxNameLen bounds a node id and a cluster name, in bytes.
	MaxNameLen = 64
)

// Cluster is the cluster section of the config file: the static membership
// every node of the cluster reads from the same file.
type Cluster struct {
	// Name names the cluster: it appears in /health, and nodes refuse
	// peers of another cluster at the handshake.
	Name string `yaml:"name"`
	// Partitions is the fixed partition count, chosen when the data
	// directory is created; a node refuses to open data made with another.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor is the number of replicas of each partition; 0
	// means the default: DefaultReplicationFactor on three nodes or more,
	// else 1. It must be odd and at most the node count.
	ReplicationFactor int `yaml:"replication_factor"`
	// Nodes lists the members (static membership).
	Nodes []Member `yaml:"nodes"`
}

// Member is one node of the static membership list.
type Member struct {
	// ID is the node's unique id: 1 to MaxNameLen of [A-Za-z0-9._-].
	ID string `yaml:"id"`
	// Address is the host:port clients reach the node at.
	Address string `yaml:"address"`
	// PeerAddress is the host:port other nodes reach it at; the node
	// listens on it. Required when the cluster has more than one node.
	PeerAddress string `yaml:"peer_address,omitempty"`
	// HTTPAddress is the node's admin address (/health, /metrics); empty
	// means node.http_addr. --http-addr beats it.
	HTTPAddress string `yaml:"http_address,omitempty"`
	// Roles are any of producer, consumer, router (every node is hybrid
	// today; the roles are recorded for the cluster phase).
	Roles []string `yaml:"roles,omitempty"`
}

// Membership is the resolved view of the cluster section from one node's
// side: who it is, who its peers are and how partitions are replicated. It
// is what the node's cluster parts are built from. A plain value.
type Membership struct {
	// Name is cluster.name.
	Name string
	// Partitions is cluster.partitions.
	Partitions int
	// ReplicationFactor is cluster.replication_factor, its default applied.
	ReplicationFactor int
	// Self is this node. Its Client is the address clients are told (the
	// listed one); Config.ClientAddr is where it listens.
	Self Endpoint
	// Peers are the other members in the order of cluster.nodes; empty for
	// a single node.
	Peers []Endpoint
}

// Endpoint is one member's id and addresses.
type Endpoint struct {
	// ID is the node id.
	ID string
	// Client is the host:port clients dial.
	Client string
	// Peer is the host:port nodes dial; empty for a single node that lists
	// none.
	Peer string
	// HTTP is the admin address; empty when none is known (a peer without
	// http_address) or it is off.
	HTTP string
}

// Clustered reports whether m has more than one node.
func (m Membership) Clustered() bool { return len(m.Peers) > 0 }

// Membership resolves the cluster section for this node. It expects a
// config that passed Validate.
func (c *Config) Membership() Membership {
	m := Membership{
		Name:              c.Cluster.Name,
		Partitions:        c.Cluster.Partitions,
		ReplicationFactor: c.replicationFactor(),
		Self:              Endpoint{ID: c.Node.ID, Client: c.ClientAddr()},
	}
	if c.Node.HTTPAddr != "off" {
		m.Self.HTTP = c.Node.HTTPAddr
	}
	for _, n := range c.Cluster.Nodes {
		if n.ID == c.Node.ID {
			m.Self.Client, m.Self.Peer = n.Address, n.PeerAddress
			continue
		}
		m.Peers = append(m.Peers, Endpoint{ID: n.ID, Client: n.Address, Peer: n.PeerAddress, HTTP: n.HTTPAddress})
	}
	return m
}

// Self returns this node's entry of cluster.nodes, if listed.
func (c *Config) Self() (Member, bool) {
	i := slices.IndexFunc(c.Cluster.Nodes, func(m Member) bool { return m.ID == c.Node.ID })
	if i < 0 {
		return Member{}, false
	}
	return c.Cluster.Nodes[i], true
}

// replicationFactor is cluster.replication_factor with its default.
func (c *Config) replicationFactor() int {
	if r := c.Cluster.ReplicationFactor; r != 0 {
		return r
	}
	if len(c.Cluster.Nodes) >= DefaultReplicationFactor {
		return DefaultReplicationFactor
	}
	return 1
}

// ids lists the ids of cluster.nodes for messages.
func (c *Config) ids() string {
	ids := make([]string, len(c.Cluster.Nodes))
	for i, m := range c.Cluster.Nodes {
		ids[i] = m.ID
		if checkName(m.ID) != "" {
			ids[i] = strconv.Quote(m.ID)
		}
	}
	return strings.Join(ids, ", ")
}

func (c *Config) validateCluster(bad func(string, string, ...any)) {
	cl := c.Cluster
	if cl.Partitions < 1 || cl.Partitions > 1<<16 {
		bad("cluster.partitions", "%d is out of range 1..65536", cl.Partitions)
	}
	if msg := checkName(cl.Name); msg != "" {
		bad("cluster.name", "%s", msg)
	}
	seen := map[string]int{}
	addrs := map[string]string{}
	for i, m := range cl.Nodes {
		p := fmt.Sprintf("cluster.nodes[%d]", i)
		if msg := checkName(m.ID); msg != "" {
			bad(p+".id", "%s", msg)
		} else if j, dup := seen[m.ID]; dup {
			bad(p+".id", "%q is also cluster.nodes[%d].id", m.ID, j)
		} else {
			seen[m.ID] = i
		}
		checkListed(p+".address", m.Address, addrs, bad)
		switch {
		case m.PeerAddress != "":
			checkListed(p+".peer_address", m.PeerAddress, addrs, bad)
		case len(cl.Nodes) > 1:
			bad(p+".peer_address", "missing: in a cluster of %d nodes each node needs the address other nodes reach it at", len(cl.Nodes))
		}
		if m.HTTPAddress != "" {
			checkListed(p+".http_address", m.HTTPAddress, addrs, bad)
		}
		for _, r := range m.Roles {
			if !slices.Contains([]string{"producer", "consumer", "router"}, r) {
				bad(p+".roles", "%q is not one of producer, consumer, router", r)
			}
		}
	}
	c.validateReplication(bad)
	c.validateSelf(addrs, bad)
}

// validateReplication checks cluster.replication_factor against the node
// count. An even factor is refused: a raft group of 2k replicas needs k+1
// of them for a quorum, so it survives k-1 failures, no more than 2k-1
// replicas do, and every write waits for one more copy.
func (c *Config) validateReplication(bad func(string, string, ...any)) {
	r, n := c.Cluster.ReplicationFactor, max(1, len(c.Cluster.Nodes))
	switch {
	case r == 0:
		return
	case r < 0:
		bad("cluster.replication_factor", "%d: want a positive odd number (0 = the default)", r)
		return
	case r%2 == 0:
		bad("cluster.replication_factor", "%d is even: a raft group of %d needs %d replicas for a quorum, so it survives %s, "+
			"as %s would, while every write waits for one more copy; use an odd number (1, 3 or 5)",
			r, r, r/2+1, plural(r/2-1, "failed node"), plural(r-1, "replica"))
	}
	if r > n {
		bad("cluster.replication_factor", "%d is above the node count (%d): a partition cannot have more replicas than there are nodes", r, n)
	}
}

// validateSelf checks which node this is among cluster.nodes and how it
// listens.
func (c *Config) validateSelf(addrs map[string]string, bad func(string, string, ...any)) {
	nodes := c.Cluster.Nodes
	idKey := "node.id"
	if c.from.idFlag {
		idKey = "--node-id"
	}
	switch {
	case c.Node.ID == "" && len(nodes) > 1:
		bad("--node-id", "required: cluster.nodes lists %d nodes (%s); each node runs this file with its own --node-id", len(nodes), c.ids())
		return
	case c.Node.ID == "":
		bad(idKey, "must not be empty")
		return
	case checkName(c.Node.ID) != "":
		bad(idKey, "%s", checkName(c.Node.ID))
		return
	}
	self, ok := c.Self()
	if len(nodes) > 0 && !ok {
		bad(idKey, "%q is not among cluster.nodes (%s)", c.Node.ID, c.ids())
		return
	}
	if c.Node.HTTPAddr != "off" {
		if other, taken := addrs[canonicalAddr(c.Node.HTTPAddr)]; taken && (!ok || c.Node.HTTPAddr != self.HTTPAddress) {
			bad("node.http_addr", "%q is also %s", c.Node.HTTPAddr, other)
		}
	}
	if len(nodes) < 2 {
		return
	}
	i := slices.IndexFunc(nodes, func(m Member) bool { return m.ID == c.Node.ID })
	host, port, err := splitListed(self.Address)
	if err != "" {
		return // reported with the list
	}
	if c.Node.Port != port {
		bad("node.port", "%d differs from the port of this node's cluster.nodes[%d].address %q: in a cluster a node listens on its listed client port",
			c.Node.Port, i, self.Address)
	}
	if isLoopback(c.Node.Bind) && !isLoopback(host) {
		bad("node.bind", "%q is a loopback interface but this node's cluster.nodes[%d].address %q is not: other hosts could not reach it; "+
			"set node.bind to its IP address (or 0.0.0.0)", c.Node.Bind, i, self.Address)
	}
}

// checkName returns what is wrong with a node id or a cluster name, or "".
func checkName(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxNameLen:
		return fmt.Sprintf("%q is longer than %d bytes", s, MaxNameLen)
	}
	if strings.IndexFunc(s, notNameRune) >= 0 {
		return fmt.Sprintf("%q: use only letters, digits, '.', '_' and '-'", s)
	}
	return ""
}

// notNameRune reports a rune that a node id or cluster name cannot hold.
func notNameRune(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-'
}

// checkListed reports what is wrong with the listed address a at key, and
// an address listed before under another key (addrs maps canonical
// addresses to their keys).
func checkListed(key, a string, addrs map[string]string, bad func(string, string, ...any)) {
	if _, _, msg := splitListed(a); msg != "" {
		bad(key, "%s", msg)
		return
	}
	ca := canonicalAddr(a)
	if other, dup := addrs[ca]; dup {
		bad(key, "%q is also %s: every client, peer and HTTP address must be distinct", a, other)
		return
	}
	addrs[ca] = key
}

// splitListed splits a listed host:port, returning a problem message if it
// is not one with a host and a port in 1..65535.
func splitListed(a string) (host string, port int, problem string) {
	host, ps, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, fmt.Sprintf("%q is not host:port", a)
	}
	if host == "" {
		return "", 0, fmt.Sprintf("%q has no host: list the address other nodes and clients dial", a)
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Sprintf("%q: port %q is out of range 1..65535", a, ps)
	}
	return host, port, ""
}

// canonicalAddr is a's form for comparing addresses: host in lower case,
// localhost as 127.0.0.1, the port as a number.
func canonicalAddr(a string) string {
	host, ps, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	host = strings.ToLower(host)
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if port, err := strconv.Atoi(ps); err == nil {
		ps = strconv.Itoa(port)
	}
	return net.JoinHostPort(host, ps)
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
