package client

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// staleTable is a METADATA_OK answering corr that names addr the leader of
// every partition: the table of a node whose election timeout has not run
// out yet, or of a leader that has not learnt it was replaced.
func staleTable(corr uint64, addr string) []byte {
	m := frame.Metadata{Epoch: 1, Nodes: [][]byte{[]byte(addr)}, Leaders: make([]uint16, clienttest.Partitions)}
	return frame.AppendMetadataOK(nil, corr, m)
}

// allSeeds returns every node's address as a seed list.
func allSeeds(cl *clienttest.Cluster) string {
	s := ""
	for i, n := range cl.Nodes {
		if i > 0 {
			s += ","
		}
		s += n.Addr()
	}
	return s
}

// TestDiscoverPausedLeaderStaleTables pauses the leader of a destination
// (it answers nothing, PING included) while the Client's only link is to
// it, and has the other nodes answer their first METADATA requests with
// the old table, as followers do until their election timeout runs out.
// The Client must not wait for the paused node (the old Client asked it
// for METADATA and waited DialTimeout, 5 s by default): it probes the
// silent link, asks the other nodes until one names the new leader, and
// the PUBLISH is stored there, well before DialTimeout.
func TestDiscoverPausedLeaderStaleTables(t *testing.T) {
	pause := &pausable{node: "fake-1"}
	var stale atomic.Int64
	var cl *clienttest.Cluster
	cl = startCluster(t, 3, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if pause.intercept(c, f) {
			return true
		}
		if f.Type == frame.TypeMetadata && pause.paused.Load() && stale.Add(-1) >= 0 {
			_ = c.Send(staleTable(f.Corr, cl.Nodes[0].Addr()))
			return true
		}
		return false
	}})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, allSeeds(cl), nil) // connected to node 0 only
	_, err := c.Publish(testCtx(t), d, []byte("first"))
	require.NoError(t, err)

	stale.Store(2)
	pause.paused.Store(true)
	cl.SetLeader(cl.Partition(d), 1)
	start := time.Now()
	res, err := c.Publish(testCtx(t), d, []byte("second"))
	require.NoError(t, err)
	took := time.Since(start)
	t.Logf("stored at the new leader after %v", took)
	require.Equal(t, uint64(2), res[0].Seq)
	require.LessOrEqual(t, stale.Load(), int64(0), "the stale tables were all asked for")
	require.Less(t, took, DefaultDialTimeout/2)
}

// TestDiscoverNotLeaderAsksAnotherNode has the old leader refuse a PUBLISH
// (NOT_LEADER, no hint) and claim in its METADATA answers that it still
// leads (it has not learnt the new leader yet). The Client must ask
// another node rather than believe the node that refused, and must not
// ask the refusing node again.
func TestDiscoverNotLeaderAsksAnotherNode(t *testing.T) {
	var refused atomic.Bool
	var askedAfter atomic.Int64
	var moved atomic.Bool
	var cl *clienttest.Cluster
	cl = startCluster(t, 3, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.NodeID() != "fake-1" {
			return false
		}
		switch f.Type {
		case frame.TypePublish:
			refused.Store(moved.Load()) // the broker answers NOT_LEADER once the leadership moved
		case frame.TypeMetadata:
			if refused.Load() {
				askedAfter.Add(1)
			}
			_ = c.Send(staleTable(f.Corr, cl.Nodes[0].Addr()))
			return true
		}
		return false
	}})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, allSeeds(cl), func(o *Options) { o.RequestTimeout = 2 * time.Second })
	_, err := c.Publish(testCtx(t), d, []byte("first"))
	require.NoError(t, err)

	for p := range uint32(clienttest.Partitions) {
		if cl.Leader(p) == 0 {
			cl.SetLeader(p, 1)
		}
	}
	moved.Store(true)
	res, err := c.Publish(testCtx(t), d, []byte("second"))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res[0].Seq)
	require.True(t, refused.Load(), "the old leader refused the PUBLISH")
	require.Zero(t, askedAfter.Load(), "the node that refused was asked for METADATA again")
}

// TestDiscoverHedgesSlowMetadata has the node the Client asks first take
// every METADATA and answer none (it is hung in a way that keeps its
// connection open): after askHedge the Client asks another node as well,
// so the request moves long before DialTimeout.
func TestDiscoverHedgesSlowMetadata(t *testing.T) {
	var hang atomic.Bool
	cl := startCluster(t, 3, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		return c.NodeID() == "fake-2" && f.Type == frame.TypeMetadata && hang.Load()
	}})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[0].Addr()+","+cl.Nodes[2].Addr(), nil)
	_, err := c.Publish(testCtx(t), d, []byte("first"))
	require.NoError(t, err)
	_, err = c.Publish(testCtx(t), destLedBy(t, cl, 1), []byte("warm")) // a link to node 1, whose table came with its handshake
	require.NoError(t, err)

	hang.Store(true)
	cl.SetLeader(cl.Partition(d), 2)
	start := time.Now()
	res, err := c.Publish(testCtx(t), d, []byte("second"))
	require.NoError(t, err)
	took := time.Since(start)
	t.Logf("moved after %v", took)
	require.Equal(t, uint64(2), res[0].Seq)
	require.Less(t, took, DefaultDialTimeout/2)
}

// TestDiscoverIdleLongPollAsksNothing long-polls an empty destination:
// the connection is silent by design while the FETCH waits, so the Client
// must not take it for a hung node (no METADATA after the handshake's)
// and probes it at most once a second.
func TestDiscoverIdleLongPollAsksNothing(t *testing.T) {
	cl := startCluster(t, 1, clienttest.Options{Record: true})
	c := dialSeeds(t, cl.Nodes[0].Addr(), nil)
	const wait = 2500 * time.Millisecond
	got, err := c.Fetch(testCtx(t), "idle", "g", 1, wait)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Len(t, nodeFrames(cl, 0, frame.TypeMetadata), 1, "only the handshake's METADATA")
	require.LessOrEqual(t, len(nodeFrames(cl, 0, frame.TypePing)), int(wait/longPollProbe)+1)
}

// TestDiscoverTrustsNoSelfClaimOfSuspectNode checks trustLocked: a table
// from a node that went silent or let a request go overdue (suspect)
// cannot make that node the leader of a partition the current table gives
// to another node; its other entries, every entry of a table from a node
// that only refused a request (a follower that may have won the election
// since), and every entry of a table from a node not doubted, are taken as
// they are.
func TestDiscoverTrustsNoSelfClaimOfSuspectNode(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &Client{now: func() time.Time { return now }}
	c.mu.table = table{gen: 1, addrs: []string{"b", "b", "", "c"}}
	c.doubtLocked("a", true)
	c.doubtLocked("d", false)

	got := c.trustLocked(table{from: "d", addrs: []string{"d", "d", "d", "d"}})
	require.Equal(t, []string{"d", "d", "d", "d"}, got.addrs, "a node that only refused is believed")

	got = c.trustLocked(table{from: "a", addrs: []string{"a", "c", "a", "a"}})
	require.Equal(t, []string{"b", "c", "a", "c"}, got.addrs)

	got = c.trustLocked(table{from: "c", addrs: []string{"a", "c", "a", "a"}})
	require.Equal(t, []string{"a", "c", "a", "a"}, got.addrs)

	now = now.Add(doubtFor)
	got = c.trustLocked(table{from: "a", addrs: []string{"a", "c", "a", "a"}})
	require.Equal(t, []string{"a", "c", "a", "a"}, got.addrs, "the doubt has run out")
}

// TestDiscoverIsolatedLeader isolates the leader of a destination from its
// peers but not from the Client: it answers PING and METADATA (naming
// itself, as an isolated leader does until it steps down) but commits no
// PUBLISH, so its connection is never quiet. The PUBLISH must still move
// to the new leader once it is overdue, well before the request timeout,
// and the isolated node must not be asked for METADATA once suspect.
func TestDiscoverIsolatedLeader(t *testing.T) {
	var isolated atomic.Bool
	var askedWhileIsolated atomic.Int64
	var cl *clienttest.Cluster
	cl = startCluster(t, 3, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.NodeID() != "fake-1" || !isolated.Load() {
			return false
		}
		switch f.Type {
		case frame.TypePublish:
			return true // never committed
		case frame.TypeMetadata:
			askedWhileIsolated.Add(1)
			_ = c.Send(staleTable(f.Corr, cl.Nodes[0].Addr()))
			return true
		}
		return false
	}})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, allSeeds(cl), nil)
	_, err := c.Publish(testCtx(t), d, []byte("first"))
	require.NoError(t, err)

	isolated.Store(true)
	cl.SetLeader(cl.Partition(d), 1)
	start := time.Now()
	res, err := c.Publish(testCtx(t), d, []byte("second"))
	require.NoError(t, err)
	took := time.Since(start)
	t.Logf("moved after %v", took)
	require.Equal(t, uint64(2), res[0].Seq)
	require.Less(t, took, DefaultDialTimeout/2)
	require.Zero(t, askedWhileIsolated.Load(), "the suspect node was asked who leads")
}

// TestDiscoverRefusingFollowerBecomesLeader kills the leader of a
// two-node cluster: the Client's requests go to the other node, which
// refuses them (NOT_LEADER: it has not elected itself yet) and then wins
// the election. The Client must not stop asking that node, the only one
// left, for two seconds because it refused: the request is stored there
// well within doubtFor. (That a refusing node's claim to lead is believed
// is TestDiscoverTrustsNoSelfClaimOfSuspectNode's.)
func TestDiscoverRefusingFollowerBecomesLeader(t *testing.T) {
	var cl *clienttest.Cluster
	var refused atomic.Bool
	var dead atomic.Bool
	cl = startCluster(t, 2, clienttest.Options{Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.NodeID() != "fake-2" || f.Type != frame.TypePublish || !dead.Load() || refused.Load() {
			return false
		}
		refused.Store(true)
		_ = c.Send(frame.AppendError(nil, f.Corr, frame.CodeNotLeader, "no leader yet"))
		for p := range uint32(clienttest.Partitions) {
			cl.SetLeader(p, 1) // elected right after refusing
		}
		return true
	}})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, allSeeds(cl), nil)
	_, err := c.Publish(testCtx(t), d, []byte("first"))
	require.NoError(t, err)
	_, err = c.Publish(testCtx(t), destLedBy(t, cl, 1), []byte("warm")) // a link to node 1
	require.NoError(t, err)

	dead.Store(true)
	cl.Nodes[0].Close() // the tables still name it until node 1 is elected
	start := time.Now()
	res, err := c.Publish(testCtx(t), d, []byte("second"))
	require.NoError(t, err)
	took := time.Since(start)
	t.Logf("stored at the new leader after %v", took)
	require.True(t, refused.Load(), "node 1 refused first")
	require.Equal(t, uint64(2), res[0].Seq)
	require.Less(t, took, doubtFor/2, "the refusing node's claim waited for its doubt to run out")
}

// TestDiscoverSlowLeaderKeepsItsRequests has the leader answer a PUBLISH
// 800 ms late (a slow node, not a failed one: it answers PING at once,
// and every node still names it the leader). The overdue PUBLISH makes
// the Client ask another node, which confirms the leader: the connection
// is kept and the PUBLISH is not sent again.
func TestDiscoverSlowLeaderKeepsItsRequests(t *testing.T) {
	var slow atomic.Bool
	cl := startCluster(t, 3, clienttest.Options{Record: true, Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.NodeID() != "fake-1" || f.Type != frame.TypePublish || !slow.Load() {
			return false
		}
		time.AfterFunc(800*time.Millisecond, func() { c.Serve(f) }) // the node's own delay, not the test's synchronisation
		return true
	}})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, allSeeds(cl), nil)
	_, err := c.Publish(testCtx(t), d, []byte("first"))
	require.NoError(t, err)

	slow.Store(true)
	res, err := c.Publish(testCtx(t), d, []byte("second"))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res[0].Seq)
	require.False(t, res[0].Duplicate)
	require.Len(t, nodeFrames(cl, 0, frame.TypePublish), 2, "the slow node's PUBLISH was sent once")
	asked := len(nodeFrames(cl, 1, frame.TypeMetadata)) + len(nodeFrames(cl, 2, frame.TypeMetadata))
	require.Positive(t, asked, "another node was asked about the overdue PUBLISH")
	conns := map[int]bool{}
	for _, f := range nodeFrames(cl, 0, frame.TypePublish) {
		conns[f.Conn] = true
	}
	require.Len(t, conns, 1, "the connection to the slow node was kept")
}
