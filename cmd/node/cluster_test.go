package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/conf"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/wal"
)

// TestClusterOptions: a config of several nodes makes the node a cluster
// member (every node listed, the replication factor); a config of one
// node runs the single node (nil), exactly as before.
func TestClusterOptions(t *testing.T) {
	cfg, err := conf.LoadNode(conf.NodeFlags{Config: filepath.Join("..", "..", "configs", "cluster-5.yaml"), NodeID: "node-2"})
	require.NoError(t, err)
	c, err := clusterOptions(cfg)
	require.NoError(t, err)
	require.Equal(t, 3, c.ReplicationFactor)
	require.Len(t, c.Members, 5)
	require.Equal(t, stages.Member{ID: "node-2", Client: "localhost:9002", Peer: "localhost:9102", HTTP: "127.0.0.1:8082"}, c.Members[0])
	require.Nil(t, c.PeerTLS)

	cfg, err = conf.LoadNode(conf.NodeFlags{Config: filepath.Join("..", "..", "configs", "mvp-cluster.yaml")})
	require.NoError(t, err)
	c, err = clusterOptions(cfg)
	require.NoError(t, err)
	require.Nil(t, c, "one node: no cluster")
}

// memberOptions are the options of a one-member cluster on dir.
func memberOptions(dir string) stages.Options {
	o := testOptions(dir)
	o.NodeID = "m1"
	o.Cluster = &stages.Cluster{ReplicationFactor: 1, PeerAddr: "127.0.0.1:0",
		Members: []stages.Member{{ID: "m1", Client: "127.0.0.1:1", Peer: "127.0.0.1:2"}}}
	return o
}

// TestDataDirModesRefused: a single node's data directory is refused by a
// cluster member, and a member's by a single node, each with a message
// saying so; neither is changed. A member's directory of the earlier
// cluster data format is refused too.
func TestDataDirModesRefused(t *testing.T) {
	single := filepath.Join(t.TempDir(), "single")
	runWith(t, testOptions(single), func(n *stages.Node) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, client.Options{Addr: n.Addr().String()})
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Publish(ctx, "q", []byte("one"))
		require.NoError(t, err)
	})
	err := serve(context.Background(), memberOptions(single), discard, nil)
	require.ErrorContains(t, err, "was written by a single node; a cluster member cannot open it")

	member := filepath.Join(t.TempDir(), "member")
	runWith(t, memberOptions(member), func(n *stages.Node) {
		// raft has written its state once the member leads.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, addrs := n.Leaders(); addrs[0] != "" && addrs[1] != "" {
				return
			}
		}
		t.Error("the one-member cluster elected no leader")
	})
	err = serve(context.Background(), testOptions(member), discard, nil)
	require.ErrorContains(t, err, "was written by a cluster member (raft); a single node cannot open it")

	// A member's directory without an incarnation is of cluster data
	// format 1 (raft ids without incarnations): refused.
	l, err := wal.Open(wal.Options{Dir: member, Partitions: 2, MinFree: -1})
	require.NoError(t, err)
	require.NoError(t, l.SetMeta("cluster/incarnation", nil))
	require.NoError(t, l.Close())
	err = serve(context.Background(), memberOptions(member), discard, nil)
	require.ErrorContains(t, err, "holds cluster data format 1")
}

// runWith serves a node on opts, runs fn once it serves, and stops it.
func runWith(t *testing.T, opts stages.Options, fn func(n *stages.Node)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, serve(ctx, opts, discard, func(n *stages.Node) {
		fn(n)
		cancel()
	}))
}
