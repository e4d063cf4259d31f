package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/cluster/placement"
	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/wal"
)

// maxHealthBody bounds the /health body the harness reads.
const maxHealthBody = 1 << 20

// Health is the part of a node's /health body the harness reads.
type Health struct {
	NodeID        string   `json:"node_id"`
	Status        string   `json:"status"`
	Partitions    uint32   `json:"partitions"`
	PartitionsLed []uint32 `json:"partitions_led"`
}

// ParseHealth decodes a /health body. It refuses a body without a node id,
// and a led partition that is not below the partition count.
func ParseHealth(b []byte) (Health, error) {
	var h Health
	if err := json.Unmarshal(b, &h); err != nil {
		return Health{}, fmt.Errorf("cluster: /health body: %w", err)
	}
	if h.NodeID == "" {
		return Health{}, errors.New("cluster: /health body has no node_id")
	}
	for _, p := range h.PartitionsLed {
		if p >= h.Partitions {
			return Health{}, fmt.Errorf("cluster: /health of %s: led partition %d is not below the partition count %d", h.NodeID, p, h.Partitions)
		}
	}
	return h, nil
}

// Leads reports whether the node leads partition p.
func (h Health) Leads(p uint32) bool { return slices.Contains(h.PartitionsLed, p) }

// Leadership is what the nodes that answered /health say they lead: one
// Health per node id. A plain value.
type Leadership map[string]Health

// Leader returns the only node claiming partition p. It returns false when
// none does, or when two do (an old leader that has not yet stepped down,
// or one that cannot hear that it was replaced): both mean "not settled".
func (l Leadership) Leader(p uint32) (string, bool) {
	var found string
	for id, h := range l {
		if h.Leads(p) {
			if found != "" {
				return "", false
			}
			found = id
		}
	}
	return found, found != ""
}

// healthClient is the HTTP client of every /health poll: short timeouts
// (a paused node must not hold the harness) and no kept connections.
var healthClient = &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}

// FetchHealth reads one node's /health at addr (host:port). A node that is
// not ok answers 503 with the same body: that is returned, not an error.
func FetchHealth(ctx context.Context, addr string) (Health, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	if err != nil {
		return Health{}, err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return Health{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	if err != nil {
		return Health{}, err
	}
	return ParseHealth(b)
}

// Poll reads /health of every node at once and returns what the ones that
// answered say. A paused or dead node is simply absent (a paused one after
// the client's timeout).
func (c *Cluster) Poll(ctx context.Context) Leadership {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = Leadership{}
	)
	for _, n := range c.Nodes {
		wg.Go(func() {
			h, err := FetchHealth(ctx, n.Spec.HTTPAddr)
			if err != nil || h.NodeID != n.Spec.ID {
				return
			}
			mu.Lock()
			out[h.NodeID] = h
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// PartitionOf returns the partition dest is routed to in this cluster.
func (c *Cluster) PartitionOf(dest string) uint32 {
	return route.Partition([]byte(dest), uint32(c.partitions()))
}

// partitions is the cluster's partition count (the node's default on a
// single node).
func (c *Cluster) partitions() int {
	if c.opts.Cluster != nil {
		return c.opts.Cluster.Partitions
	}
	return int(wal.DefaultPartitions)
}

// Replicas returns the ids of the nodes that hold dest's partition, in
// placement order.
func (c *Cluster) Replicas(dest string) ([]string, error) {
	ids := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		ids[i] = n.Spec.ID
	}
	r := 1
	if c.opts.Cluster != nil {
		r = c.opts.Cluster.Replication
	}
	return placement.Replicas(c.PartitionOf(dest), ids, r)
}

// LeaderOf waits until exactly one node claims dest's partition and
// returns it (or ctx ends).
func (c *Cluster) LeaderOf(ctx context.Context, dest string) (*Node, error) {
	p := c.PartitionOf(dest)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if id, ok := c.Poll(ctx).Leader(p); ok {
			return c.Node(id), nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: no single leader of %s (partition %d): %w", dest, p, ctx.Err())
		case <-tick.C:
		}
	}
}

// FollowerOf waits for dest's leader and returns another replica of its
// partition (the first in placement order).
func (c *Cluster) FollowerOf(ctx context.Context, dest string) (*Node, error) {
	leader, err := c.LeaderOf(ctx, dest)
	if err != nil {
		return nil, err
	}
	ids, err := c.Replicas(dest)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id != leader.Spec.ID {
			return c.Node(id), nil
		}
	}
	return nil, fmt.Errorf("cluster: %s has no follower (replicas %v)", dest, ids)
}

// Node returns the node with id, or nil.
func (c *Cluster) Node(id string) *Node {
	for _, n := range c.Nodes {
		if n.Spec.ID == id {
			return n
		}
	}
	return nil
}

// SpreadDests returns n destination names (chaos-<k>) whose partitions
// differ and, as far as the node count allows, whose preferred leaders
// (placement's first replica) differ, so that a fault aimed at one
// destination's leader leaves the others' alone.
func (c *Cluster) SpreadDests(n int) ([]string, error) {
	var out []string
	parts := map[uint32]bool{}
	firsts := map[string]bool{}
	for k := 0; len(out) < n && k < 10000; k++ {
		d := "chaos-" + strconv.Itoa(k)
		p := c.PartitionOf(d)
		if parts[p] {
			continue
		}
		ids, err := c.Replicas(d)
		if err != nil {
			return nil, err
		}
		if firsts[ids[0]] && len(firsts) < len(c.Nodes) {
			continue
		}
		parts[p], firsts[ids[0]] = true, true
		out = append(out, d)
	}
	if len(out) < n {
		return nil, fmt.Errorf("cluster: no %d destinations on distinct partitions of %d", n, c.partitions())
	}
	return out, nil
}
