package rlog

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// member is one node of an in-process cluster: its raft log on a real
// peer transport over loopback, and an applier playing fanout (one
// worker): it applies committed entries in order and promotes the node
// on Lead, recording what it had applied at that moment.
type member struct {
	id     string
	wal    *wal.Log
	owners *owner.Map
	deps   plog.Deps
	log    *Log
	peers  *peer.Transport
	net    *Net
	incs   *Incarnations
	raft   replica.Options
	done   chan struct{}

	mu struct {
		sync.Mutex
		applied  map[uint32][]uint64 // seqs of the ack records applied, in order
		index    map[uint32]uint64   // last index applied
		acked    map[uint32][]uint64 // seqs whose proposal committed here
		promoted map[uint32][]uint64 // applied seqs when the node began to serve
	}
}

// startCluster starts ids' members replicating partitions partitions.
func startCluster(t *testing.T, ids []string, partitions uint32) []*member {
	return startClusterOf(t, ids, partitions, func(uint32) []string { return ids })
}

// startClusterOf starts ids' members; replicas(p) are partition p's; raft,
// if given, tunes their engines.
func startClusterOf(t *testing.T, ids []string, partitions uint32, replicas func(p uint32) []string,
	raft ...replica.Options) []*member {
	lns := make([]net.Listener, len(ids))
	var nodes []Node
	addrs := map[string]string{}
	for i, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns[i] = ln
		addrs[id] = ln.Addr().String()
		nodes = append(nodes, Node{ID: id, Client: "client-of-" + id})
	}
	ms := make([]*member, len(ids))
	for i, id := range ids {
		ms[i] = linkMember(t, id, nodes, addrs, lns[i], partitions)
	}
	// Every member decides its incarnation (0: the cluster is new) once a
	// majority answered: all at once.
	var wg sync.WaitGroup
	errs := make([]error, len(ms))
	for i, m := range ms {
		wg.Go(func() { errs[i] = m.decide() })
	}
	wg.Wait()
	for i, m := range ms {
		require.NoError(t, errs[i])
		if len(raft) > 0 {
			m.raft = raft[0]
		}
		m.startLog(t, nodes, partitions, replicas)
	}
	return ms
}

// linkMember opens the member's log on an empty disk and starts its peer
// links.
func linkMember(t *testing.T, id string, nodes []Node, addrs map[string]string, ln net.Listener, partitions uint32) *member {
	m := &member{id: id, done: make(chan struct{})}
	m.mu.applied, m.mu.index = map[uint32][]uint64{}, map[uint32]uint64{}
	m.mu.acked, m.mu.promoted = map[uint32][]uint64{}, map[uint32][]uint64{}
	var err error
	m.wal, err = wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: partitions, MinFree: -1})
	require.NoError(t, err)
	tb, err := owner.NewTable(partitions, 1, func(uint32) bool { return false })
	require.NoError(t, err)
	m.owners = owner.NewMap(tb)
	m.deps = plog.Deps{In: graph.NewRing[plog.Proposal](64), Out: []*graph.Ring[plog.Output]{graph.NewRing[plog.Output](1024)},
		Owners: m.owners, Now: func() int64 { return time.Now().UnixNano() }}
	m.net = NewNet(nodes, nil, nil)
	m.incs, err = LoadIncarnations(m.wal, id, nodeIDs(nodes))
	require.NoError(t, err)
	m.net.SetIncarnations(m.incs)
	m.peers, err = peer.New(peer.Options{ID: id, ClusterName: "test", Partitions: partitions, Peers: addrs, Listener: ln,
		Handler: m.net, BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond, QueueBytes: testQueueBytes,
		MaxFrame: testQueueBytes})
	require.NoError(t, err)
	m.net.Attach(m.peers)
	require.NoError(t, m.peers.Start())
	return m
}

// testQueueBytes is the members' peer queue and frame: small, so that a
// chunked snapshot must wait for room.
const testQueueBytes = 2 << 20

func (m *member) decide() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := m.net.Decide(ctx, DecideOptions{Nodes: len(m.net.keys), Every: 10 * time.Millisecond,
		Grace: 200 * time.Millisecond, Report: time.Second})
	return err
}

// startLog starts the member's raft log (its incarnation decided).
func (m *member) startLog(t *testing.T, nodes []Node, partitions uint32, replicas func(p uint32) []string) {
	nw := m.net
	opts := Options{Self: m.id, Nodes: nodes, Incarnations: m.incs, Announce: nw.Announce, Logger: testLogger(t, m.id),
		SayIncarnation: nw.SayIncarnation, AnnounceInterval: 100 * time.Millisecond, Raft: m.raft}
	for p := range partitions {
		if rs := replicas(p); slices.Contains(rs, m.id) {
			opts.Groups = append(opts.Groups, Group{Partition: p, Replicas: rs})
		}
	}
	var err error
	m.log, err = New(opts, Deps{Deps: m.deps, Log: m.wal, Transport: nw})
	require.NoError(t, err)
	nw.Bind(m.log.Engine())
	nw.OnLeader(m.log.LearnLeader)
	require.NoError(t, m.log.Start())
	go m.apply()
	t.Cleanup(func() { m.stop(t) })
}

// stop stops the member (again: a killed one only closes what is left).
func (m *member) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, m.log.Stop(ctx))
	_ = m.peers.Close()
	m.net.Close()
	m.deps.Out[0].Close()
	<-m.done
	require.NoError(t, m.wal.Close())
}

// kill stops the member's engine and links at once, as a crash would for
// its peers: its pending proposals fail, it answers nothing more.
func (m *member) kill(t *testing.T) {
	require.NoError(t, m.log.Engine().Stop(context.Background()))
	require.NoError(t, m.peers.Close())
	m.net.Close()
}

// apply is the member's fanout: outputs in ring order.
func (m *member) apply() {
	defer close(m.done)
	ring := m.deps.Out[0]
	for {
		outs := ring.PopBatch(nil, 64)
		for _, o := range outs {
			m.one(o)
		}
		if len(outs) == 0 {
			if ring.Closed() {
				return
			}
			<-ring.C()
		}
	}
}

func (m *member) one(o plog.Output) {
	p := o.Entry.Partition
	m.mu.Lock()
	defer m.mu.Unlock()
	switch o.Kind {
	case plog.Committed:
		if o.Entry.Index <= m.mu.index[p] {
			panic(fmt.Sprintf("%s: partition %d: index %d after %d", m.id, p, o.Entry.Index, m.mu.index[p]))
		}
		m.mu.index[p] = o.Entry.Index
		m.mu.applied[p] = append(m.mu.applied[p], o.Entry.Record.Seqs[0])
		if o.Entry.Req != nil {
			m.mu.acked[p] = append(m.mu.acked[p], o.Entry.Record.Seqs[0])
		}
	case plog.Lead:
		if m.owners.Promote(p, o.Leader) {
			m.mu.promoted[p] = append([]uint64(nil), m.mu.applied[p]...)
		}
	}
	if o.Entry.Req != nil {
		o.Entry.Req.Release()
	}
}

// leader waits until some member other than skip serves p, and returns it.
func leader(t *testing.T, ms []*member, p uint32, skip *member) *member {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range ms {
			if m != skip && m.owners.Load().Leads(p) {
				return m
			}
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
	}
	t.Fatalf("no leader of partition %d", p)
	return nil
}

// propose proposes ack records with seqs from..to-1 on m, for p.
func propose(t *testing.T, m *member, p uint32, from, to uint64) {
	for s := from; s < to; s++ {
		r := work.NewRequest(work.KindAck, netio.Inbound{})
		r.Partition = p
		r.Record = queue.Record{Type: queue.RecordAck, Time: int64(s), Dest: []byte("d"), Group: []byte("g"), Seqs: []uint64{s}}
		require.NoError(t, m.deps.In.Push(context.Background(), plog.Proposal{Partition: p, Record: &r.Record, Req: r}))
	}
}

// waitAcked waits until m has acked n proposals of p.
func waitAcked(t *testing.T, m *member, p uint32, n int) []uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		got := append([]uint64(nil), m.mu.acked[p]...)
		m.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
	}
	t.Fatalf("%s acked fewer than %d proposals of partition %d", m.id, n, p)
	return nil
}

func (m *member) appliedSeqs(p uint32) []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]uint64(nil), m.mu.applied[p]...)
}

// TestLeaderKillLosesNothing: three members on real peer links; the leader
// of a partition acks proposals, then dies. A new leader serves only once
// it has applied every proposal the old one acked; it acks more; the two
// survivors apply the same entries in the same order, every acked one
// included.
func TestLeaderKillLosesNothing(t *testing.T) {
	const p = 1
	ms := startCluster(t, []string{"n1", "n2", "n3"}, 2)
	old := leader(t, ms, p, nil)
	propose(t, old, p, 1, 101)
	acked := waitAcked(t, old, p, 100)
	require.Len(t, acked, 100)
	for _, m := range ms {
		if m != old {
			require.NotEqual(t, "", m.owners.Load().Leader(p).Addr, "%s knows the leader", m.id)
			require.False(t, m.owners.Load().Leads(p))
		}
	}

	old.kill(t)
	now := leader(t, ms, p, old)
	now.mu.Lock()
	promoted := now.mu.promoted[p]
	now.mu.Unlock()
	require.Subset(t, promoted, acked, "the new leader served before applying what the old one acked")
	require.Equal(t, now.id, now.owners.Load().Leader(p).ID)

	propose(t, now, p, 101, 151)
	more := waitAcked(t, now, p, 50)
	var survivors []*member
	for _, m := range ms {
		if m != old {
			survivors = append(survivors, m)
		}
	}
	want := append(append([]uint64(nil), acked...), more...)
	deadline := time.Now().Add(10 * time.Second)
	for _, m := range survivors {
		for len(m.appliedSeqs(p)) < len(want) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
		}
	}
	a, b := survivors[0].appliedSeqs(p), survivors[1].appliedSeqs(p)
	require.Equal(t, a, b, "the survivors applied different logs")
	require.Subset(t, a, want, "an acked proposal was lost")
}

// TestLeadersAnnounced: a member that does not replicate a partition
// learns its leader from the leader's announcements, and the new leader
// after the old one dies.
func TestLeadersAnnounced(t *testing.T) {
	const p = 0
	ms := startClusterOf(t, []string{"n1", "n2", "n3", "n4"}, 1, func(uint32) []string { return []string{"n1", "n2", "n3"} })
	outsider := ms[3]
	old := leader(t, ms, p, nil)
	knows := func(id string) bool {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if l := outsider.owners.Load().Leader(p); l.ID == id {
				require.Equal(t, "client-of-"+id, l.Addr)
				return true
			}
			time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
		}
		return false
	}
	require.True(t, knows(old.id), "n4 never heard that %s leads", old.id)
	require.False(t, outsider.owners.Load().Leads(p))
	old.kill(t)
	now := leader(t, ms, p, old)
	require.True(t, knows(now.id), "n4 never heard that %s leads now", now.id)
}

// TestWipedMemberRejoins: a follower dies and comes back on an empty data
// directory. It asks its peers, learns they recorded it in incarnation 0,
// and takes 1; the leader replaces its old raft id by the new one, and it
// catches up with every entry, then applies new ones.
func TestWipedMemberRejoins(t *testing.T) {
	const p = 0
	ids := []string{"n1", "n2", "n3"}
	ms := startCluster(t, ids, 1)
	lead := leader(t, ms, p, nil)
	propose(t, lead, p, 1, 51)
	waitAcked(t, lead, p, 50)
	old := follower(ms, lead)
	inc, _ := old.incs.Own()
	require.Equal(t, uint16(0), inc)
	wiped, nodes := wipe(t, ms, old)
	inc, _ = wiped.incs.Own()
	require.Equal(t, uint16(1), inc, "the wiped member takes the next incarnation")
	wiped.startLog(t, nodes, 1, func(uint32) []string { return ids })

	propose(t, lead, p, 51, 61)
	waitAcked(t, lead, p, 60)
	want := lead.appliedSeqs(p)
	deadline := time.Now().Add(10 * time.Second)
	for len(wiped.appliedSeqs(p)) < len(want) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
	}
	require.Equal(t, want, wiped.appliedSeqs(p), "the new incarnation applied the same log")
	// Raft proposes leaving the joint configuration once it has applied
	// entering it: that entry may commit after the records.
	for lead.log.Engine().Stats().ConfChanges < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
	}
	require.GreaterOrEqual(t, lead.log.Engine().Stats().ConfChanges, uint64(2), "enter and leave the joint configuration")
	rec, ok := lead.incs.Recorded(old.id)
	require.True(t, ok)
	require.Equal(t, uint16(1), rec)
}

// follower returns a member of ms other than lead.
func follower(ms []*member, lead *member) *member {
	for _, m := range ms {
		if m != lead {
			return m
		}
	}
	panic("no follower")
}

// wipe kills old and links, on its address, a member with its id and an
// empty data directory, which has decided its incarnation and is not
// started yet; nodes are the members as startLog takes them.
func wipe(t *testing.T, ms []*member, old *member) (*member, []Node) {
	addr := old.peers.Addr().String()
	old.kill(t)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	var nodes []Node
	addrs := map[string]string{}
	for _, m := range ms {
		nodes = append(nodes, Node{ID: m.id, Client: "client-of-" + m.id})
		addrs[m.id] = m.peers.Addr().String()
	}
	addrs[old.id] = addr
	wiped := linkMember(t, old.id, nodes, addrs, ln, 1)
	require.NoError(t, wiped.decide())
	return wiped, nodes
}

// testLogger logs to t when SWARMMQ_TEST_LOG is set.
func testLogger(t *testing.T, id string) *slog.Logger {
	if os.Getenv("SWARMMQ_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", id)
}

// proposeBig proposes n ack records of about size bytes each on m, for p,
// numbered from first on.
func proposeBig(t *testing.T, m *member, p uint32, n, size, first int) {
	for i := first; i < first+n; i++ {
		r := work.NewRequest(work.KindAck, netio.Inbound{})
		r.Partition = p
		seqs := make([]uint64, size/8)
		for k := range seqs {
			seqs[k] = uint64(i)<<40 | uint64(k)*0x9e3779b97f4a7c15>>24
		}
		seqs[0] = uint64(1000 + i)
		r.Record = queue.Record{Type: queue.RecordAck, Time: int64(i), Dest: []byte("d"), Group: []byte("g"), Seqs: seqs}
		require.NoError(t, m.deps.In.Push(context.Background(), plog.Proposal{Partition: p, Record: &r.Record, Req: r}))
	}
}

// TestWipedMemberCatchesUpByChunkedSnapshot: the leader's log is compacted
// while its state still points at every record (4.9 MB: more than a peer
// frame, and twice the 2 MiB peer queue of these members), then a
// follower is wiped: it gets the snapshot in chunks, paced through the
// queue, and holds the same records at the same indexes as the leader.
func TestWipedMemberCatchesUpByChunkedSnapshot(t *testing.T) {
	const p = 0
	ids := []string{"n1", "n2", "n3"}
	// Writing megabytes per iteration on a loaded machine must not make
	// the followers time out (2-4 s elections here).
	ms := startClusterOf(t, ids, 1, func(uint32) []string { return ids }, replica.Options{ElectionTicks: 40})
	// Rounds of big records at the current leader until 48 are applied
	// (under the race detector a loop iteration can outlast an election
	// timeout, and a leader change fails the proposals in flight).
	var lead *member
	big := func(m *member) int {
		n := 0
		for _, s := range m.appliedSeqs(p) {
			if s >= 1000 {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(120 * time.Second)
	for round := 0; ; round++ {
		lead = leader(t, ms, p, nil)
		if big(lead) >= 48 {
			break
		}
		require.True(t, time.Now().Before(deadline), "48 big records never applied")
		t.Logf("round %d at %s: %d applied", round, lead.id, big(lead))
		proposeBig(t, lead, p, 8, 100<<10, 8*round)
		for wait := time.Now().Add(5 * time.Second); big(lead) < 8*(round+1) && time.Now().Before(wait); {
			time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
		}
	}
	// Every member compacts at the same index, its state pointing at every
	// record from index 2 on: raft's first index moves to 2, so a replica
	// with nothing needs the snapshot, whoever leads.
	idx := lead.wal.LastIndex(p)
	for _, m := range ms {
		for {
			pr, err := m.log.Engine().Progress(p)
			require.NoError(t, err)
			if pr.Applied >= idx {
				break
			}
			require.True(t, time.Now().Before(deadline), "%s never applied %d", m.id, idx)
			time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
		}
		require.NoError(t, m.log.SaveSnapshot(p, idx, 2, []byte("state")))
	}

	old := follower(ms, lead)
	wiped, nodes := wipe(t, ms, old)
	wiped.raft = lead.raft
	wiped.startLog(t, nodes, 1, func(uint32) []string { return ids })

	deadline = time.Now().Add(90 * time.Second)
	for {
		if _, _, ok, err := wiped.wal.LoadSnapshot(p); err == nil && ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "the wiped member never got the snapshot")
		time.Sleep(10 * time.Millisecond) // polling a condition, as nothing signals it
	}
	at, state, _, err := wiped.wal.LoadSnapshot(p)
	require.NoError(t, err)
	require.Equal(t, idx, at)
	require.Equal(t, "state", string(state))
	size := 0
	for i := uint64(2); i <= idx; i++ {
		want, err := lead.wal.Read(p, i, nil)
		require.NoError(t, err)
		got, err := wiped.wal.Read(p, i, nil)
		require.NoError(t, err, "record %d the state points at", i)
		require.Equal(t, want, got, "record %d", i)
		size += len(got)
	}
	require.Greater(t, size, peer.DefaultMaxFrame, "the snapshot must not fit in a frame")
	require.Greater(t, size, 2*testQueueBytes, "nor in a peer's queue")

	// After the snapshot it applies entries (restored from the snapshot,
	// it never applied the records before it).
	lead = leader(t, ms, p, old)
	propose(t, lead, p, 1, 6)
	for wait := time.Now().Add(30 * time.Second); len(lead.appliedSeqs(p)) == 0 || lead.appliedSeqs(p)[len(lead.appliedSeqs(p))-1] != 5; {
		require.True(t, time.Now().Before(wait), "the leader never applied 1-5")
		time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
	}
	deadline = time.Now().Add(30 * time.Second)
	for got := wiped.appliedSeqs(p); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}); got = wiped.appliedSeqs(p) {
		require.True(t, time.Now().Before(deadline), "the wiped member applied %v after the snapshot", got)
		time.Sleep(5 * time.Millisecond) // polling a condition, as nothing signals it
	}
}
