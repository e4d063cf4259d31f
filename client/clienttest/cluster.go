package clienttest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/route"
)

// Partitions is the partition count a Server announces in HELLO_OK.
const Partitions = 16

// Cluster is a few Servers that share one broker, as the nodes of a
// cluster share the replicated state of every partition: a message
// published through one node is stored once, whichever node stores it
// again (same id) answers duplicate, and a group's progress is the same
// on every node. Each partition has a leader (or none); the others answer
// its requests NOT_LEADER, and METADATA tells the table with an epoch
// that grows with each change. A Cluster is safe for concurrent use.
type Cluster struct {
	// Nodes are the members, node i announcing the id "fake-<i+1>".
	Nodes []*Server
	b     *broker

	mu struct {
		sync.Mutex
		epoch   uint64
		leaders [Partitions]int // node index, -1: none
	}
}

// StartCluster starts n Servers with opts (their NodeID aside); partition
// p is led by node p mod n at first.
func StartCluster(n int, opts Options) (*Cluster, error) {
	c := &Cluster{b: newBroker(opts.Discard, opts.Reject)}
	c.mu.epoch = 1
	for p := range c.mu.leaders {
		c.mu.leaders[p] = p % n
	}
	for i := range n {
		o := opts
		o.NodeID = fmt.Sprintf("fake-%d", i+1)
		s, err := startOn(o, "127.0.0.1:0", c.b)
		if err != nil {
			c.Close()
			return nil, err
		}
		s.cluster, s.index = c, i
		if opts.NodeKeys {
			s.salt = uint64(i+1) << 48
		}
		c.Nodes = append(c.Nodes, s)
	}
	return c, nil
}

// Partition returns the partition of dest.
func (c *Cluster) Partition(dest string) uint32 {
	return route.Partition([]byte(dest), Partitions)
}

// Leader returns the index of the node that leads partition p, -1 if none.
func (c *Cluster) Leader(p uint32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.leaders[p]
}

// SetLeader makes node (-1: none) the leader of partition p and bumps the
// epoch. The fetches parked on the old leader for p are answered
// NOT_LEADER, as a node that loses a partition answers them.
func (c *Cluster) SetLeader(p uint32, node int) {
	c.mu.Lock()
	old := c.mu.leaders[p]
	c.mu.leaders[p] = node
	c.mu.epoch++
	c.mu.Unlock()
	if old >= 0 && old != node {
		c.b.notLeader(c.Nodes[old])
	}
}

// Epoch returns the current epoch.
func (c *Cluster) Epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.epoch
}

// table returns the epoch and each partition's leader's address.
func (c *Cluster) table() (uint64, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	addrs := make([]string, Partitions)
	for p, i := range c.mu.leaders {
		if i >= 0 {
			addrs[p] = c.Nodes[i].Addr()
		}
	}
	return c.mu.epoch, addrs
}

// Close stops every node, then the shared broker.
func (c *Cluster) Close() {
	for _, s := range c.Nodes {
		s.Close()
	}
	c.b.close()
}

// leadsDest reports whether s leads dest's partition.
func (s *Server) leadsDest(dest string) bool {
	if s.cluster == nil {
		return true
	}
	return s.cluster.Leader(route.Partition([]byte(dest), Partitions)) == s.index
}

// errNotLeader answers a request for a partition led elsewhere.
var errNotLeader = &frame.Error{Code: frame.CodeNotLeader, Msg: "this node does not lead the partition"}

// leads returns errNotLeader unless s leads the partition of the
// destination of request f (PUBLISH, FETCH, ACK or NACK).
func (s *Server) leads(f frame.Frame) error {
	if s.cluster == nil {
		return nil
	}
	dest, err := requestDest(f)
	if err != nil {
		return err
	}
	if !s.leadsDest(dest) {
		return errNotLeader
	}
	return nil
}

// requestDest reads the destination of a request.
func requestDest(f frame.Frame) (string, error) {
	switch f.Type {
	case frame.TypePublish:
		p, err := frame.DecodePublish(f.Body, 0)
		return string(p.Destination), err
	case frame.TypeFetch:
		q, err := frame.DecodeFetch(f.Body)
		return string(q.Destination), err
	case frame.TypeAck:
		a, err := frame.DecodeAck(f.Body)
		return string(a.Destination), err
	case frame.TypeNack:
		n, err := frame.DecodeNack(f.Body)
		return string(n.Destination), err
	case frame.TypeTerm:
		t, err := frame.DecodeTerm(f.Body)
		return string(t.Destination), err
	case frame.TypeProgress:
		a, err := frame.DecodeProgress(f.Body)
		return string(a.Destination), err
	}
	return "", errors.New("clienttest: not a request")
}

// metadata answers METADATA: a single node leads everything (its own
// address ""), a member tells its cluster's table, and a Server with
// NoMetadata refuses it as a node from before METADATA does.
func (s *Server) metadata(c *Conn, f frame.Frame) error {
	if s.opts.NoMetadata {
		_ = c.Send(frame.AppendError(nil, 0, frame.CodeUnknownType, "unknown frame type"))
		_ = c.Close()
		return nil
	}
	m := frame.Metadata{Nodes: [][]byte{nil}, Leaders: make([]uint16, Partitions)}
	if s.cluster != nil {
		epoch, addrs := s.cluster.table()
		m = frame.Metadata{Epoch: epoch, Leaders: make([]uint16, Partitions)}
		index := map[string]uint16{}
		for p, a := range addrs {
			i, ok := index[a]
			switch {
			case a == "":
				i = frame.NoLeader
			case ok:
			default:
				i = uint16(len(m.Nodes))
				index[a] = i
				node := []byte(a)
				if a == s.Addr() {
					node = nil // "": this node
				}
				m.Nodes = append(m.Nodes, node)
			}
			m.Leaders[p] = i
		}
	}
	_ = c.Send(frame.AppendMetadataOK(nil, f.Corr, m))
	return nil
}

// StartClusterMovingLeader starts a cluster of n nodes (StartCluster) whose
// leader of dest's partition moves to the next node each time the cluster
// has received the at-th frame of type typ, counted over every node; seen
// is that count.
func StartClusterMovingLeader(n int, dest string, typ frame.Type, at ...int64) (cl *Cluster, seen *atomic.Int64, err error) {
	seen = new(atomic.Int64)
	cl, err = StartCluster(n, Options{Intercept: func(_ *Conn, f Frame) bool {
		if f.Type == typ && slices.Contains(at, seen.Add(1)) {
			p := cl.Partition(dest)
			cl.SetLeader(p, (cl.Leader(p)+1)%n)
		}
		return false
	}})
	return cl, seen, err
}
