package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/test/cluster"
)

// startCluster starts a cluster of n real node processes (test/cluster)
// and waits until every node is ready.
func startCluster(t *testing.T, n int) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts node processes")
	}
	bin, err := cluster.BuildNode(t.TempDir())
	require.NoError(t, err)
	c := cluster.Start(t, cluster.Options{Bin: bin, Nodes: n, Cluster: &cluster.ClusterSpec{}, Flags: []string{"--min-free", "0"}})
	ctx, cancel := context.WithTimeout(context.Background(), cluster.DefaultStartTimeout)
	defer cancel()
	require.NoError(t, c.WaitReady(ctx))
	return c
}

// getJSON reads path from the admin address addr into v and returns the
// status code.
func getJSON(t *testing.T, addr, path string, v any) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if v != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(b, v), string(b))
	}
	return resp.StatusCode
}

// TestClusterStatusAndLeaderFollowing runs swarmctl against a real
// three-node cluster: status from any one node shows every node (with its
// three addresses) and every partition with its leader and three
// replicas; a write and reads sent to a follower of the destination's
// partition are served by its leader; with the leader killed, a write
// waits for the election and lands at the new leader, and status shows
// the node down.
func TestClusterStatusAndLeaderFollowing(t *testing.T) {
	c := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const dest = "orders"
	leader, err := c.LeaderOf(ctx, dest)
	require.NoError(t, err)
	follower, err := c.FollowerOf(ctx, dest)
	require.NoError(t, err)
	p := c.PartitionOf(dest)

	code, out, errOut := ctl(t, "--http", follower.Spec.HTTPAddr, "--json", "status")
	require.Zero(t, code, errOut)
	var cs adminapi.ClusterStatus
	require.NoError(t, json.Unmarshal([]byte(out), &cs), out)
	require.Equal(t, cluster.DefaultClusterName, cs.Cluster)
	require.Len(t, cs.Nodes, 3)
	for i, n := range cs.Nodes {
		spec := c.Nodes[i].Spec
		require.Equal(t, spec.ID, n.ID)
		require.Equal(t, spec.ClientAddr, n.Client)
		require.Equal(t, spec.HTTPAddr, n.HTTP)
		require.NotEmpty(t, n.Peer)
		require.True(t, n.Up, n.Error)
		require.Equal(t, "ok", n.Status)
		require.Greater(t, n.UptimeSeconds, 0.0)
	}
	require.Len(t, cs.Placement, cluster.DefaultClusterPartitions)
	led := 0
	for _, ps := range cs.Placement {
		require.Contains(t, []string{"node-1", "node-2", "node-3"}, ps.Leader, "partition %d", ps.Partition)
		require.Len(t, ps.Replicas, 3)
		for _, r := range ps.Replicas {
			require.True(t, r.Up)
			require.NotNil(t, r.ApplyLag)
		}
		if ps.Leader == leader.Spec.ID {
			led++
		}
	}
	require.Equal(t, leader.Spec.ID, cs.Placement[p].Leader)
	i := slices.IndexFunc(cs.Nodes, func(n adminapi.ClusterNode) bool { return n.ID == leader.Spec.ID })
	require.Len(t, cs.Nodes[i].PartitionsLed, led)

	code, out, errOut = ctl(t, "--http", c.Nodes[2].Spec.HTTPAddr, "status")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Cluster chaos: 3 of 3 nodes up, 8 of 8 partitions with a leader\n")
	require.Contains(t, out, "PARTITION  LEADER  TERM  REPLICAS (APPLY LAG)\n")
	require.Regexp(t, fmt.Sprintf(`(?m)^%d +%s +\d+ +node-\d \d+, node-\d \d+, node-\d \d+$`, p, leader.Spec.ID), out)

	// The follower refuses the write itself (421); swarmctl sends it to
	// the leader.
	resp, err := http.Post("http://"+follower.Spec.HTTPAddr+adminapi.PathDestinations, "application/json",
		strings.NewReader(`{"name":"`+dest+`"}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	code, out, errOut = ctl(t, "--http", follower.Spec.HTTPAddr, "dest", "create", dest, "--max-msgs", "100")
	require.Zero(t, code, errOut)
	require.Equal(t, fmt.Sprintf("Created %s (partition %d).\n", dest, p), out)
	var d adminapi.Destination
	require.Equal(t, http.StatusOK, getJSON(t, leader.Spec.HTTPAddr, destPath(dest), &d))
	require.Equal(t, int64(100), d.Limits.MaxMsgs, "created through the leader")

	cl, err := client.Dial(ctx, client.Options{Addr: leader.Spec.ClientAddr, ClientID: t.Name()})
	require.NoError(t, err)
	_, err = cl.Publish(ctx, dest, []byte("a"), []byte("bb"))
	cl.Close()
	require.NoError(t, err)

	code, out, errOut = ctl(t, "--http", follower.Spec.HTTPAddr, "--json", "dest", "info", dest)
	require.Zero(t, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, int64(2), d.Depth, "read at the leader")
	require.Equal(t, uint64(2), d.Publish.Messages, "the leader counted the publish")
	var atFollower adminapi.Destination
	require.Equal(t, http.StatusOK, getJSON(t, follower.Spec.HTTPAddr, destPath(dest), &atFollower))
	require.Equal(t, int64(2), atFollower.Depth, "the follower's replica")
	require.Zero(t, atFollower.Publish.Messages, "a follower counts no publish: the leader's figures are the ones")
	code, out, errOut = ctl(t, "--http", follower.Spec.HTTPAddr, "msg", "get", dest, "2", "--raw")
	require.Zero(t, code, errOut)
	require.Equal(t, "bb", out)
	for _, n := range c.Nodes { // every node lists it once, from the leader
		code, out, errOut = ctl(t, "--http", n.Spec.HTTPAddr, "dest", "ls")
		require.Zero(t, code, errOut)
		require.Empty(t, errOut)
		rs := rows(out)
		require.Len(t, rs, 2, out)
		require.Equal(t, []string{dest, fmt.Sprint(p), "2", "3"}, rs[1][:4])
		require.Equal(t, "2", rs[1][8], "published, as the leader counted")
	}

	// A FETCH sent to a follower is forwarded to the leader: the group's
	// member there is the forwarded fetches, holding what they got.
	fetchAt(t, follower.Spec.ClientAddr, dest, "fwd")
	code, out, errOut = ctl(t, "--http", follower.Spec.HTTPAddr, "--json", "group", "info", dest, "fwd")
	require.Zero(t, code, errOut)
	var g adminapi.Group
	require.NoError(t, json.Unmarshal([]byte(out), &g))
	require.Len(t, g.Members, 1, out)
	require.Equal(t, adminapi.GroupMember{Forwarded: true, LastFetchAgeSeconds: g.Members[0].LastFetchAgeSeconds,
		Delivered: 1, InFlight: 1}, g.Members[0])

	// The leader dies: the write waits for the election.
	require.NoError(t, leader.Kill())
	code, out, errOut = ctl(t, "--http", follower.Spec.HTTPAddr, "--leader-wait", "30s", "dest", "purge", dest, "--force")
	require.Zero(t, code, errOut)
	require.Equal(t, "Purged orders: 2 messages dropped.\n", out)

	code, out, errOut = ctl(t, "--http", follower.Spec.HTTPAddr, "--json", "status")
	require.Zero(t, code, errOut)
	cs = adminapi.ClusterStatus{}
	require.NoError(t, json.Unmarshal([]byte(out), &cs), out)
	dead := cs.Nodes[slices.IndexFunc(cs.Nodes, func(n adminapi.ClusterNode) bool { return n.ID == leader.Spec.ID })]
	require.False(t, dead.Up)
	require.Contains(t, dead.Error, "connection refused")
	require.NotEqual(t, leader.Spec.ID, cs.Placement[p].Leader)
	require.NotEmpty(t, cs.Placement[p].Leader)
	for _, r := range cs.Placement[p].Replicas {
		require.Equal(t, r.ID != leader.Spec.ID, r.Up, r.ID)
	}
	code, out, _ = ctl(t, "--http", follower.Spec.HTTPAddr, "status")
	require.Zero(t, code)
	require.Contains(t, out, "Cluster chaos: 2 of 3 nodes up")
	require.Contains(t, out, leader.Spec.ID+" is down: ")

	// Two of three down: no quorum. The survivor either leads no more (an
	// election it cannot win: swarmctl gives up after --leader-wait and
	// says so) or still does and steps down with the purge proposed (it
	// may apply later: swarmctl does not send it again).
	other := c.Nodes[slices.IndexFunc(c.Nodes, func(n *cluster.Node) bool { return n != leader && n != follower })]
	require.NoError(t, other.Kill())
	start := time.Now()
	code, _, errOut = ctl(t, "--http", follower.Spec.HTTPAddr, "--leader-wait", "2s", "dest", "purge", dest, "--force")
	took := time.Since(start)
	t.Logf("gave up after %s: %s", took, errOut)
	require.Equal(t, 1, code)
	require.Regexp(t, `no leader is known for partition \d+ after waiting 2s|no other leader was known within 2s|`+
		`stopped leading partition \d+ \(destination orders\) while the change was being written: it may still apply`, errOut)
	require.Less(t, took, 2*time.Second+2*clientconfTimeout, "bounded by --leader-wait and one request's timeout")
}

// clientconfTimeout is swarmctl's default bound of one request.
const clientconfTimeout = 5 * time.Second

// fetchAt sends HELLO and a FETCH of one message of dest for group over a
// plain connection to the client address addr (no leader following: a
// follower forwards it), and waits for its MESSAGES, which must hold one.
func fetchAt(t *testing.T, addr, dest, group string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	b := frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("raw")})
	b = frame.AppendFetch(b, 2, frame.Fetch{Destination: []byte(dest), Group: []byte(group), Max: 1, WaitMS: 5000})
	_, err = c.Write(b)
	require.NoError(t, err)
	var buf []byte
	chunk := make([]byte, 64<<10)
	for {
		f, n, err := frame.Decode(buf, frame.DefaultMaxFrame)
		require.NoError(t, err)
		if n == 0 {
			k, err := c.Read(chunk)
			require.NoError(t, err)
			buf = append(buf, chunk[:k]...)
			continue
		}
		buf = buf[n:]
		if f.Corr != 2 {
			continue // HELLO_OK, or a frame the node sends on its own
		}
		require.Equal(t, frame.TypeMessages, f.Type, "%s", f.Body)
		ms, err := frame.DecodeMessages(f.Body)
		require.NoError(t, err)
		require.Equal(t, uint32(1), ms.Count)
		return
	}
}
