package client

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// startCluster starts a fake cluster of n nodes that the test closes at
// its end.
func startCluster(t *testing.T, n int, opts clienttest.Options) *clienttest.Cluster {
	t.Helper()
	cl, err := clienttest.StartCluster(n, opts)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// dialSeeds connects a Client to seeds (host:port,…).
func dialSeeds(t *testing.T, seeds string, mod func(*Options)) *Client {
	t.Helper()
	opts := Options{Addr: seeds, ClientID: "test-client", ReconnectWait: time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	c, err := Dial(testCtx(t), opts)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// destLedBy returns a destination whose partition node leads.
func destLedBy(t *testing.T, cl *clienttest.Cluster, node int) string {
	t.Helper()
	for i := range 1000 {
		d := fmt.Sprintf("q%d", i)
		if cl.Leader(cl.Partition(d)) == node {
			return d
		}
	}
	t.Fatal("no destination found")
	return ""
}

// nodeFrames returns the frames of type typ node received (Record).
func nodeFrames(cl *clienttest.Cluster, node int, typ frame.Type) []clienttest.Frame {
	return framesOf(cl.Nodes[node], typ)
}

// TestClusterRoutesToLeaders checks that, dialled through one seed, the
// Client sends each destination's requests straight to its partition's
// leader: no node ever answers NOT_LEADER.
func TestClusterRoutesToLeaders(t *testing.T) {
	var notLeader atomic.Int64
	cl := startCluster(t, 3, clienttest.Options{Record: true})
	c := dialSeeds(t, cl.Nodes[1].Addr(), nil)
	for node := range 3 {
		d := destLedBy(t, cl, node)
		res, err := c.Publish(testCtx(t), d, []byte("x"))
		require.NoError(t, err)
		require.Equal(t, uint64(1), res[0].Seq)
		require.NoError(t, c.Ack(testCtx(t), d, "g", 1))
		pubs := nodeFrames(cl, node, frame.TypePublish)
		require.Len(t, pubs, 1, "node %d", node)
		dest, _ := decodePublish(t, pubs[0])
		require.Equal(t, d, dest)
		require.Len(t, nodeFrames(cl, node, frame.TypeAck), 1)
	}
	for node := range 3 {
		for _, f := range cl.Nodes[node].Frames() {
			if f.Type == frame.TypePublish || f.Type == frame.TypeAck {
				dest, err := destOf(f)
				require.NoError(t, err)
				if cl.Leader(cl.Partition(dest)) != node {
					notLeader.Add(1)
				}
			}
		}
	}
	require.Zero(t, notLeader.Load())
}

// destOf reads the destination of a recorded PUBLISH or ACK.
func destOf(f clienttest.Frame) (string, error) {
	if f.Type == frame.TypeAck {
		a, err := frame.DecodeAck(f.Body)
		return string(a.Destination), err
	}
	p, err := frame.DecodePublish(f.Body, 0)
	return string(p.Destination), err
}

// TestClusterNotLeaderResendsSameBytes moves a partition's leadership
// while a PUBLISH is on its way: the old leader answers NOT_LEADER, and
// the Client sends the same bytes (same message ids, same session) to the
// new leader; Publish does not fail.
func TestClusterNotLeaderResendsSameBytes(t *testing.T) {
	h := newHolder(frame.TypePublish)
	cl := startCluster(t, 3, clienttest.Options{Record: true, Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		return c.NodeID() == "fake-1" && h.intercept(c, f)
	}})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[2].Addr()+","+cl.Nodes[0].Addr(), nil)
	done := make(chan error, 1)
	var res []PublishResult
	go func() {
		var err error
		res, err = c.Publish(testCtx(t), d, []byte("a"), []byte("b"))
		done <- err
	}()
	x := h.next(t)
	cl.SetLeader(cl.Partition(d), 1)
	x.serve() // NOT_LEADER: node 0 no longer leads
	require.NoError(t, <-done)
	require.Equal(t, []uint64{1, 2}, []uint64{res[0].Seq, res[1].Seq})
	old, moved := nodeFrames(cl, 0, frame.TypePublish), nodeFrames(cl, 1, frame.TypePublish)
	require.Len(t, old, 1)
	require.Len(t, moved, 1)
	require.Equal(t, old[0].Raw, moved[0].Raw, "the same bytes: same ids, same session")
	require.Len(t, cl.Nodes[0].Messages(d), 2, "stored once (the nodes share the log)")
}

// TestClusterLeaderKilled kills the leader after it stored a batch whose
// ack is lost, leaves the partition without a leader for a while (an
// election), then elects another node: the retry reaches the new leader
// with the same ids and comes back as a duplicate of the original seqs.
func TestClusterLeaderKilled(t *testing.T) {
	stored := make(chan struct{})
	var once sync.Once
	cl := startCluster(t, 3, clienttest.Options{Record: true, Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if c.NodeID() != "fake-1" || f.Type != frame.TypePublish {
			return false
		}
		c.Mute()
		c.Serve(f) // stored; the ack is lost with the node
		once.Do(func() { close(stored) })
		return true
	}})
	d := destLedBy(t, cl, 0)
	seeds := cl.Nodes[0].Addr() + "," + cl.Nodes[1].Addr() + "," + cl.Nodes[2].Addr()
	c := dialSeeds(t, seeds, nil)
	done := make(chan error, 1)
	var res []PublishResult
	go func() {
		var err error
		res, err = c.Publish(testCtx(t), d, []byte("a"))
		done <- err
	}()
	<-stored
	p := cl.Partition(d)
	cl.SetLeader(p, -1)
	cl.Nodes[0].Close()
	waitFor(t, func() bool { return len(framesOfAll(cl, 1, 2, frame.TypeMetadata)) > 0 }, "a METADATA to a live node")
	cl.SetLeader(p, 2)
	require.NoError(t, <-done)
	require.True(t, res[0].Duplicate)
	require.Equal(t, uint64(1), res[0].Seq)
	require.Len(t, cl.Nodes[2].Messages(d), 1)
}

// framesOfAll returns the frames of type typ nodes a and b received.
func framesOfAll(cl *clienttest.Cluster, a, b int, typ frame.Type) []clienttest.Frame {
	return append(nodeFrames(cl, a, typ), nodeFrames(cl, b, typ)...)
}

// waitFor polls cond until it holds (the fake cluster has no event to
// wait on), failing after testTimeout.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestClusterFetchReissued parks a long-poll FETCH at the leader, moves
// the leadership (the old leader answers it NOT_LEADER): the FETCH goes
// on at the new leader and returns the message published there.
func TestClusterFetchReissued(t *testing.T) {
	cl := startCluster(t, 2, clienttest.Options{Record: true})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[0].Addr(), nil)
	type result struct {
		ds  []Delivery
		err error
	}
	got := make(chan result, 1)
	go func() {
		ds, err := c.Fetch(testCtx(t), d, "g", 10, 5*time.Second)
		got <- result{ds, err}
	}()
	waitFor(t, func() bool { return len(nodeFrames(cl, 0, frame.TypeFetch)) == 1 }, "the FETCH at the leader")
	cl.SetLeader(cl.Partition(d), 1)
	waitFor(t, func() bool { return len(nodeFrames(cl, 1, frame.TypeFetch)) == 1 }, "the FETCH at the new leader")
	_, err := c.Publish(testCtx(t), d, []byte("hello"))
	require.NoError(t, err)
	r := <-got
	require.NoError(t, r.err)
	require.Len(t, r.ds, 1)
	require.Equal(t, "hello", string(r.ds[0].Payload))
	require.Equal(t, nodeFrames(cl, 0, frame.TypeFetch)[0].Raw, nodeFrames(cl, 1, frame.TypeFetch)[0].Raw)
}

// TestClusterPublisherFollowsLeader publishes a stream with a Publisher
// while the destination's leadership moves around the nodes: every message
// is acknowledged without an error, with seqs 1..n, stored once.
func TestClusterPublisherFollowsLeader(t *testing.T) {
	cl := startCluster(t, 3, clienttest.Options{})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[0].Addr(), nil)
	p := mustPublisher(t, c, d, PublisherOptions{MaxBatch: 16})
	var col collector
	const n = 3000
	part := cl.Partition(d)
	for i := range n {
		if i%500 == 250 {
			cl.SetLeader(part, (cl.Leader(part)+1)%3)
		}
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	}
	require.NoError(t, p.Close(testCtx(t)))
	res := col.get()
	require.Len(t, res, n)
	for i, r := range res {
		require.NoError(t, r.Err)
		require.Equal(t, uint64(i+1), r.Seq)
	}
	require.Len(t, cl.Nodes[0].Messages(d), n, "stored exactly once")
}

// TestClusterConsumeFollowsLeader runs Consume, as consumer-client does,
// while a producer publishes and the leadership moves: Consume returns no
// error and handles every message.
func TestClusterConsumeFollowsLeader(t *testing.T) {
	cl := startCluster(t, 3, clienttest.Options{})
	d := destLedBy(t, cl, 1)
	pc := dialSeeds(t, cl.Nodes[0].Addr(), nil)
	cc := dialSeeds(t, cl.Nodes[2].Addr(), nil)
	const n = 400
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var handled atomic.Int64
	consumed := make(chan error, 1)
	go func() {
		consumed <- cc.Consume(ctx, d, "g", ConsumeOptions{Batch: 10, Wait: time.Second}, func(_ context.Context, ds []Delivery) error {
			if handled.Add(int64(len(ds))) >= n {
				cancel()
			}
			return nil
		})
	}()
	part := cl.Partition(d)
	for i := range n {
		if i%100 == 50 {
			cl.SetLeader(part, (cl.Leader(part)+1)%3)
		}
		_, err := pc.Publish(testCtx(t), d, []byte("m"))
		require.NoError(t, err)
	}
	require.NoError(t, <-consumed)
	require.GreaterOrEqual(t, handled.Load(), int64(n))
}

// TestSeedsSkipDeadSeed checks that Dial goes on to the next seed when one
// does not answer.
func TestSeedsSkipDeadSeed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	s := startServer(t, clienttest.Options{})
	c := dialSeeds(t, dead+", "+s.Addr(), nil)
	_, err = c.Publish(testCtx(t), "q", []byte("a"))
	require.NoError(t, err)

	_, err = Dial(testCtx(t), Options{Addr: dead + "," + dead, MaxReconnects: 2})
	require.ErrorContains(t, err, "dial "+dead)
	require.Error(t, Options{Addr: "a:1,nonsense"}.Validate())
}

// TestOldNodeWithoutMetadata checks a node from before METADATA: it
// answers UNKNOWN_TYPE and closes; the Client dials again without asking
// and serves it as a single node, also after a reconnect.
func TestOldNodeWithoutMetadata(t *testing.T) {
	var dropped atomic.Bool
	s := startServer(t, clienttest.Options{NoMetadata: true, Record: true,
		Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
			if f.Type != frame.TypePublish || dropped.Swap(true) {
				return false
			}
			_ = c.Close()
			return true
		}})
	c := dial(t, s, nil)
	require.Equal(t, 2, s.Accepted(), "one connection refused METADATA")
	res, err := c.Publish(testCtx(t), "q", []byte("a"), []byte("b"))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res[1].Seq)
	require.Len(t, framesOf(s, frame.TypeMetadata), 1, "asked once")
	require.Equal(t, 3, s.Accepted(), "reconnected after the dropped PUBLISH")
	require.True(t, strings.HasPrefix(c.NodeID(), "fake"))
}

// pausable is an Intercept that, once paused, takes every frame sent to
// node and answers none: the node hangs as a SIGSTOPped process does (its
// connections stay open).
type pausable struct {
	node   string
	paused atomic.Bool
}

func (p *pausable) intercept(c *clienttest.Conn, _ clienttest.Frame) bool {
	return c.NodeID() == p.node && p.paused.Load()
}

// TestClusterPausedLeader pauses the leader while a PUBLISH is on its way
// and elects another node: the Client, which also has a link to that
// node, sees the paused node's connection silent, asks the other node,
// and sends the PUBLISH to the new leader long before its request timeout.
func TestClusterPausedLeader(t *testing.T) {
	pause := &pausable{node: "fake-1"}
	cl := startCluster(t, 2, clienttest.Options{Intercept: pause.intercept})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[0].Addr(), nil)
	_, err := c.Publish(testCtx(t), destLedBy(t, cl, 1), []byte("warm"))
	require.NoError(t, err) // a link to node 1 as well
	pause.paused.Store(true)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := c.Publish(testCtx(t), d, []byte("a"))
		done <- err
	}()
	cl.SetLeader(cl.Partition(d), 1)
	require.NoError(t, <-done)
	t.Logf("moved after %v", time.Since(start))
	require.Less(t, time.Since(start), DefaultRequestTimeout/2)
	require.Len(t, cl.Nodes[1].Messages(d), 1)
}

// TestClusterPausedOnlyNode pauses the only node the Client is connected
// to: its METADATA question goes unanswered, the Client drops that
// connection after DialTimeout and learns the new leader from the next
// seed.
func TestClusterPausedOnlyNode(t *testing.T) {
	pause := &pausable{node: "fake-1"}
	cl := startCluster(t, 2, clienttest.Options{Intercept: pause.intercept})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[0].Addr()+","+cl.Nodes[1].Addr(), func(o *Options) { o.DialTimeout = 300 * time.Millisecond })
	_, err := c.Publish(testCtx(t), d, []byte("first"))
	require.NoError(t, err)
	pause.paused.Store(true)
	cl.SetLeader(cl.Partition(d), 1)
	res, err := c.Publish(testCtx(t), d, []byte("second"))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res[0].Seq)
}

// TestClusterNodesWithoutSharedKey moves the leadership of a Publisher's
// destination between nodes that key producer tokens apart: the new
// leader refuses the session, and the Client publishes there with
// application ids instead (FlagSession cleared), so no message fails.
func TestClusterNodesWithoutSharedKey(t *testing.T) {
	cl := startCluster(t, 2, clienttest.Options{NodeKeys: true, Record: true})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[0].Addr(), nil)
	p := mustPublisher(t, c, d, PublisherOptions{MaxBatch: 8})
	var col collector
	const n = 400
	for i := range n {
		if i == n/2 {
			cl.SetLeader(cl.Partition(d), 1)
		}
		require.NoError(t, p.Publish(testCtx(t), []byte("x"), col.done))
	}
	require.NoError(t, p.Close(testCtx(t)))
	for _, r := range col.get() {
		require.NoError(t, r.Err)
	}
	moved := nodeFrames(cl, 1, frame.TypePublish)
	require.NotEmpty(t, moved)
	for _, f := range moved {
		require.Zero(t, f.Flags&frame.FlagSession, "application ids at the node without the session")
	}
	require.Equal(t, c.ProducerID(), c.Session().ID, "the session stays the one node 0 issued")
}

// TestClusterNoLeaderTimesOut checks that a request whose partition has
// no leader waits for one for its request timeout, then fails with
// ErrTimeout (retryable), and that it goes through once a leader is back.
func TestClusterNoLeaderTimesOut(t *testing.T) {
	cl := startCluster(t, 2, clienttest.Options{})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[1].Addr(), func(o *Options) { o.RequestTimeout = shortRequestTimeout })
	cl.SetLeader(cl.Partition(d), -1)
	_, err := c.Publish(testCtx(t), d, []byte("a"))
	require.ErrorIs(t, err, ErrTimeout)
	require.True(t, IsRetryable(err))
	cl.SetLeader(cl.Partition(d), 0)
	res, err := c.Publish(testCtx(t), d, []byte("b"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), res[0].Seq)
}

// TestClusterParkedBatchTimesOut: a Publisher's messages waiting for a
// leader fail with ErrTimeout after the request timeout (they waited for
// ever), the Client keeps no reference to their batch, and the next
// messages go through once a leader is back (they waited for ever too:
// nothing asked for a new table), each stored once.
func TestClusterParkedBatchTimesOut(t *testing.T) {
	cl := startCluster(t, 2, clienttest.Options{})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[1].Addr(), func(o *Options) { o.RequestTimeout = shortRequestTimeout })
	part := cl.Partition(d)
	cl.SetLeader(part, -1)
	p := mustPublisher(t, c, d, PublisherOptions{MaxBatch: 4, Window: 4})
	var col collector
	for range 4 {
		require.NoError(t, p.Publish(testCtx(t), []byte("lost"), col.done))
	}
	require.NoError(t, p.Flush(testCtx(t)), "the callbacks had the failures")
	require.Len(t, col.get(), 4)
	for _, r := range col.get() {
		require.ErrorIs(t, r.Err, ErrTimeout)
	}
	c.mu.Lock()
	parked := len(c.mu.parked)
	c.mu.Unlock()
	require.Zero(t, parked, "timed-out calls left parked")
	cl.SetLeader(part, 0)
	var again collector
	for range 4 {
		require.NoError(t, p.Publish(testCtx(t), []byte("kept"), again.done))
	}
	require.NoError(t, p.Close(testCtx(t)))
	for _, r := range again.get() {
		require.NoError(t, r.Err)
	}
	require.Len(t, cl.Nodes[0].Messages(d), 4, "stored exactly once")
}

// TestClusterSeedDiesOthersLearnt dials a cluster through one seed, which
// is then killed: the Client gets its next table from a node it learnt
// from an earlier one, not from a seed.
func TestClusterSeedDiesOthersLearnt(t *testing.T) {
	cl := startCluster(t, 3, clienttest.Options{})
	d := destLedBy(t, cl, 0)
	c := dialSeeds(t, cl.Nodes[0].Addr(), nil)
	_, err := c.Publish(testCtx(t), d, []byte("a"))
	require.NoError(t, err)
	p := cl.Partition(d)
	cl.SetLeader(p, 2)
	cl.Nodes[0].Close()
	res, err := c.Publish(testCtx(t), d, []byte("b"))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res[0].Seq)
}
