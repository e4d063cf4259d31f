// Command clusterinfo answers the questions test/cluster/local-cluster.sh
// (make cluster) asks about a cluster config and the nodes running it:
//
//	clusterinfo --config configs/cluster-5.yaml nodes        # id, client, peer and HTTP address of each node
//	clusterinfo --config configs/cluster-5.yaml leader orders  # the node leading orders' partition, from /health
//
// It is a helper of the local cluster, not an operator's tool.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/conf"
	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/test/cluster"
)

type cli struct {
	Config string    `required:"" help:"The cluster's config file." placeholder:"FILE"`
	Nodes  nodesCmd  `cmd:"" help:"Print one line per node: id, client address, peer address, HTTP address."`
	Leader leaderCmd `cmd:"" help:"Print the node that leads DEST's partition (asking each node's /health), waiting up to --wait."`
	Key    keyCmd    `cmd:"" name:"producer-key" help:"Print security.producer_key_file, resolved against the config's directory (nothing if unset)."`
}

type keyCmd struct{}

// Run prints the producer key file's path.
func (k keyCmd) Run(cfg conf.Config, c *cli) error {
	p := cfg.Security.ProducerKeyFile
	if p == "" {
		return nil
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(c.Config), p)
	}
	fmt.Println(p)
	return nil
}

type nodesCmd struct{}

type leaderCmd struct {
	Dest string        `arg:"" help:"Destination."`
	Wait time.Duration `default:"5s" help:"How long to wait for exactly one node to claim the partition."`
}

func main() {
	var c cli
	ctx := kong.Parse(&c, kong.Name("clusterinfo"), kong.UsageOnError())
	cfg, err := load(c.Config)
	if err == nil {
		err = ctx.Run(cfg, &c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterinfo:", err)
		os.Exit(1)
	}
}

func load(path string) (conf.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return conf.Config{}, err
	}
	cfg, err := conf.Parse(b)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	for _, n := range cfg.Cluster.Nodes {
		if n.HTTPAddress == "" {
			return cfg, fmt.Errorf("%s: node %s has no http_address: the local cluster needs one per node", path, n.ID)
		}
	}
	if len(cfg.Cluster.Nodes) == 0 {
		return cfg, fmt.Errorf("%s lists no cluster.nodes", path)
	}
	return cfg, nil
}

// Run prints the node table.
func (nodesCmd) Run(cfg conf.Config) error {
	for _, n := range cfg.Cluster.Nodes {
		fmt.Println(n.ID, n.Address, n.PeerAddress, n.HTTPAddress)
	}
	return nil
}

// Run prints "<partition> <id> <client address> <HTTP address>" of the
// leader, or fails saying who claims the partition.
func (l leaderCmd) Run(cfg conf.Config) error {
	p := route.Partition([]byte(l.Dest), uint32(cfg.Cluster.Partitions))
	ctx, cancel := context.WithTimeout(context.Background(), l.Wait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var claim []string
	for {
		claim = claim[:0]
		for _, n := range cfg.Cluster.Nodes {
			if h, err := cluster.FetchHealth(ctx, n.HTTPAddress); err == nil && h.Leads(p) {
				claim = append(claim, n.ID)
			}
		}
		if len(claim) == 1 {
			i := slices.IndexFunc(cfg.Cluster.Nodes, func(m conf.Member) bool { return m.ID == claim[0] })
			n := cfg.Cluster.Nodes[i]
			fmt.Println(p, n.ID, n.Address, n.HTTPAddress)
			return nil
		}
		select {
		case <-ctx.Done():
			if len(claim) == 0 {
				return fmt.Errorf("no node answering /health leads partition %d of %s (is the cluster up? an election under way?)", p, l.Dest)
			}
			return fmt.Errorf("partition %d of %s is claimed by %v: an election is settling", p, l.Dest, claim)
		case <-tick.C:
		}
	}
}
