package replica

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/swarmmq/swarmmq/wal"
)

// env is a deterministic in-process cluster: nodes 1…n replicate every
// partition, their loops are stepped by hand, and the network is a queue of
// messages the test delivers, drops or cuts.
type env struct {
	t      testing.TB
	parts  uint32
	nodes  []*node // index id-1
	queue  []Message
	from   []uint64 // sender of queue[i]
	cut    map[[2]uint64]bool
	out    *strings.Builder // events of the current command
	keep   int              // records the state machine keeps pointing at
	cache  int              // Options.CacheBytes (0: default)
	every  int              // data entries between the state machine's compactions
	global []map[uint64]string
	// hold keeps the snapshot payloads the leaders ask for unbuilt
	// (snapshots hold); else each is built after the step that asked.
	hold bool
}

type node struct {
	env *env
	id  uint64 // the node's number, its raft id in incarnation 0
	inc uint64 // incarnation: bumped by wipe

	fs   *vfs.MemFS
	log  *wal.Log
	eng  *Engine
	sm   *testSM
	down bool
}

func newEnv(t testing.TB, n int, parts uint32) *env {
	e := &env{t: t, parts: parts, cut: map[[2]uint64]bool{}, out: &strings.Builder{}, keep: 3, every: 0}
	for p := uint32(0); p < parts; p++ {
		e.global = append(e.global, map[uint64]string{})
	}
	for i := range n {
		nd := &node{env: e, id: uint64(i + 1), fs: vfs.NewCrashableMem()}
		e.nodes = append(e.nodes, nd)
	}
	for _, nd := range e.nodes {
		nd.start()
	}
	t.Cleanup(func() {
		for _, nd := range e.nodes {
			nd.stop()
		}
	})
	return e
}

func (nd *node) peers() []uint64 {
	ids := make([]uint64, len(nd.env.nodes))
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	return ids
}

// rid is the node's raft id: its number, and its incarnation above bit 16
// (as cluster/rlog makes them, in small).
func (nd *node) rid() uint64 { return nd.id | nd.inc<<16 }

// fmtID prints a raft id of the harness: "3", or "3.1" for incarnation 1.
func fmtID(id uint64) string {
	if id>>16 == 0 {
		return fmt.Sprint(id)
	}
	return fmt.Sprintf("%d.%d", id&0xFFFF, id>>16)
}

// replace is the leader's Hooks.Replace: a voter whose node runs a later
// incarnation is replaced by it.
func (e *env) replace(_ uint32, voter uint64) uint64 {
	k := voter & 0xFFFF
	if k == 0 || k > uint64(len(e.nodes)) {
		return 0
	}
	if nd := e.nodes[k-1]; nd.inc > voter>>16 {
		return nd.rid()
	}
	return 0
}

// wipe stops the node, gives it an empty disk and its next incarnation,
// and starts it again.
func (nd *node) wipe() {
	nd.stop()
	nd.fs = vfs.NewCrashableMem()
	nd.inc++
	nd.start()
}

func (nd *node) start() {
	e := nd.env
	l, err := wal.Open(wal.Options{Dir: "db", FS: nd.fs, Partitions: e.parts, MemTableSize: wal.MinMemTableSize * 4, MinFree: -1})
	require.NoError(e.t, err)
	nd.log = l
	nd.sm = &testSM{node: nd, parts: map[uint32]*smPart{}}
	var groups []Group
	for p := range e.parts {
		groups = append(groups, Group{Partition: p, Peers: nd.peers()})
	}
	eng, err := New(Options{ID: nd.rid(), Log: l, Groups: groups, Transport: (*envTransport)(nd), StateMachine: nd.sm, CacheBytes: e.cache,
		Hooks: Hooks{LeaderChange: func(p uint32, ld Leadership) {
			fmt.Fprintf(e.out, "n%d p%d: term %d leader %s serving %v\n", nd.id, p, ld.Term, fmtID(ld.Leader), ld.Serving)
		}, Replace: e.replace}})
	require.NoError(e.t, err)
	nd.eng = eng
	nd.down = false
}

// stop stops the engine (failing its proposals) and closes the log cleanly.
func (nd *node) stop() {
	if nd.down {
		return
	}
	require.NoError(nd.env.t, nd.eng.Stop(context.Background()))
	require.NoError(nd.env.t, nd.log.Close())
	nd.down = true
}

// crash keeps only what was fsynced, as a power cut would.
func (nd *node) crash() {
	crashed := nd.fs.CrashClone(vfs.CrashCloneCfg{})
	nd.stop()
	nd.fs = crashed
}

type envTransport node

func (tr *envTransport) Send(msgs []Message) {
	e := tr.env
	for _, m := range msgs {
		e.queue = append(e.queue, m)
		e.from = append(e.from, tr.id)
	}
}

// deliver hands every queued message to its recipient, dropping those on
// cut links or to stopped nodes; it reports how many it delivered.
func (e *env) deliver() int {
	q, from := e.queue, e.from
	e.queue, e.from = nil, nil
	n := 0
	for i, m := range q {
		to := m.Msg.GetTo()
		dst := e.nodes[to&0xFFFF-1]
		if dst.down || e.nodes[from[i]-1].down || e.cut[[2]uint64{from[i], dst.id}] {
			if m.Msg.GetType() == pb.MsgSnap && !e.nodes[from[i]-1].down {
				e.nodes[from[i]-1].eng.ReportSnapshot(m.Partition, to, true)
			}
			continue
		}
		dst.eng.Step(m)
		if m.Msg.GetType() == pb.MsgSnap {
			// Sent: a transport reports it (the receiver may still crash
			// before applying it; raft then probes and sends another).
			e.nodes[from[i]-1].eng.ReportSnapshot(m.Partition, to, false)
		}
		n++
	}
	return n
}

// drop loses the first k queued messages. As a transport must, it reports
// a lost snapshot to its sender (else the leader waits for it forever).
func (e *env) drop(k int) {
	for i, m := range e.queue[:k] {
		if m.Msg.GetType() == pb.MsgSnap && !e.nodes[e.from[i]-1].down {
			e.nodes[e.from[i]-1].eng.ReportSnapshot(m.Partition, m.Msg.GetTo(), true)
		}
	}
	e.queue, e.from = e.queue[k:], e.from[k:]
}

// stepAll runs one iteration of every live node with ticks ticks.
func (e *env) stepAll(ticks int) {
	for _, nd := range e.nodes {
		if !nd.down {
			nd.step(ticks)
		}
	}
}

// step runs one iteration of the node's loop with ticks ticks, then, unless
// the env holds them, builds the snapshot payloads it asked for (the
// builder's work; the next iteration installs them).
func (nd *node) step(ticks int) {
	require.NoError(nd.env.t, nd.eng.step(ticks))
	if !nd.env.hold {
		nd.eng.buildPending()
	}
}

// stabilize steps and delivers until no message is left.
func (e *env) stabilize() {
	for range 1000 {
		e.stepAll(0)
		if len(e.queue) == 0 {
			return
		}
		e.deliver()
	}
	e.t.Fatal("no stable state after 1000 rounds")
}

// testSM is the state machine of the harness. Per partition it applies
// entries in order, checks each against the entry every other node applied
// at the same index, and keeps pointing at its last keep records (as the
// queue keeps messages by their place in the log): its snapshot names
// them by index, and Restore reads them back from the log.
type testSM struct {
	node  *node
	parts map[uint32]*smPart
}

type smPart struct {
	applied uint64
	data    int      // data entries applied
	refs    []uint64 // indexes of the records still pointed at
	seq     []string // applied since the last restore
}

func (s *testSM) part(p uint32) *smPart {
	if s.parts[p] == nil {
		s.parts[p] = &smPart{}
	}
	return s.parts[p]
}

func (s *testSM) Apply(p uint32, ents []Entry) error {
	e, sp := s.node.env, s.part(p)
	for _, en := range ents {
		if en.Index <= sp.applied {
			return fmt.Errorf("n%d p%d: entry %d applied again after %d", s.node.id, p, en.Index, sp.applied)
		}
		sp.applied = en.Index
		if len(en.Data) == 0 {
			continue
		}
		if g, ok := e.global[p][en.Index]; ok && g != string(en.Data) {
			return fmt.Errorf("n%d p%d: entry %d is %q, another node applied %q", s.node.id, p, en.Index, en.Data, g)
		}
		e.global[p][en.Index] = string(en.Data)
		mine := ""
		if en.Ctx != nil {
			mine = fmt.Sprintf(" (proposed here: %v)", en.Ctx)
			if ack, ok := en.Ctx.(*ackCtx); ok {
				ack.index = en.Index
			}
		}
		fmt.Fprintf(e.out, "n%d p%d: apply %d/%d %s%s\n", s.node.id, p, en.Index, en.Term, en.Data, mine)
		sp.data++
		sp.seq = append(sp.seq, string(en.Data))
		sp.refs = append(sp.refs, en.Index)
		if len(sp.refs) > e.keep {
			sp.refs = sp.refs[1:]
		}
		if e.every > 0 && sp.data%e.every == 0 {
			s.node.eng.Compact(p, sp.applied, sp.refs[0], sp.encode())
		}
	}
	return nil
}

func (sp *smPart) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(sp.data))
	for _, r := range sp.refs {
		b = binary.AppendUvarint(b, r)
	}
	return b
}

func (s *testSM) Restore(p uint32, index uint64, state []byte) error {
	sp := &smPart{applied: index}
	n, k := binary.Uvarint(state)
	if k <= 0 {
		return fmt.Errorf("bad state %x", state)
	}
	sp.data, state = int(n), state[k:]
	for len(state) > 0 {
		r, k := binary.Uvarint(state)
		if k <= 0 {
			return fmt.Errorf("bad state %x", state)
		}
		state = state[k:]
		rec, err := s.node.log.Read(p, r, nil)
		if err != nil {
			return fmt.Errorf("n%d p%d: record %d the snapshot points at: %w", s.node.id, p, r, err)
		}
		if g := s.node.env.global[p][r]; g != string(rec) {
			return fmt.Errorf("n%d p%d: record %d is %q, applied as %q", s.node.id, p, r, rec, g)
		}
		sp.refs = append(sp.refs, r)
	}
	s.parts[p] = sp
	fmt.Fprintf(s.node.env.out, "n%d p%d: restore at %d (%d records, refs %v)\n", s.node.id, p, index, sp.data, sp.refs)
	return nil
}

// ackCtx is a proposal's ctx in the harness.
type ackCtx struct {
	name  string
	index uint64
	err   error
}

func (a *ackCtx) String() string { return a.name }

func (s *testSM) Lost(p uint32, ctx any, err error) {
	if a, ok := ctx.(*ackCtx); ok {
		a.err = err
	}
	fmt.Fprintf(s.node.env.out, "n%d p%d: lost %v: %v\n", s.node.id, p, ctx, err)
}

// status prints each live node's view of each partition.
func (e *env) status() string {
	var b strings.Builder
	for _, nd := range e.nodes {
		if nd.down {
			fmt.Fprintf(&b, "n%d: down\n", nd.id)
			continue
		}
		ps := make([]uint32, 0, len(nd.eng.groups))
		for p := range nd.eng.groups {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		for _, p := range ps {
			g := nd.eng.groups[p]
			st := g.rn.BasicStatus()
			ld := g.lead.Load()
			fmt.Fprintf(&b, "n%d p%d: %s term %d leader %s commit %d applied %d first %d last %d serving %v\n",
				nd.id, p, strings.TrimPrefix(st.RaftState.String(), "State"), ld.Term, fmtID(ld.Leader),
				st.GetCommit(), g.applied, g.st.first, g.st.last, ld.Serving)
		}
	}
	return b.String()
}

// leader returns the node every live replica agrees leads p, or 0.
func (e *env) leader(p uint32) uint64 {
	var ids []uint64
	for _, nd := range e.nodes {
		if !nd.down && nd.eng.groups[p].leader {
			ids = append(ids, nd.id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) == 0 {
		return 0
	}
	// With CheckQuorum a stale leader may linger; the one of highest term wins.
	best := ids[0]
	for _, id := range ids {
		if e.nodes[id-1].eng.groups[p].term > e.nodes[best-1].eng.groups[p].term {
			best = id
		}
	}
	return best
}

// confs prints each live node's configuration of each partition (as raft
// holds it, and as the storage keeps it for the snapshot) and its
// counters of stale messages and conf changes.
func (e *env) confs() string {
	ids := func(v []uint64) string {
		s := make([]string, len(v))
		for i, id := range v {
			s[i] = fmtID(id)
		}
		slices.Sort(s)
		return "[" + strings.Join(s, " ") + "]"
	}
	var b strings.Builder
	for _, nd := range e.nodes {
		if nd.down {
			fmt.Fprintf(&b, "n%d: down\n", nd.id)
			continue
		}
		st := nd.eng.Stats()
		fmt.Fprintf(&b, "n%d (id %s): stale %d, conf changes proposed %d applied %d\n", nd.id, fmtID(nd.rid()),
			st.Stale, st.ConfProposals, st.ConfChanges)
		for _, g := range nd.eng.order {
			cfg := g.rn.Status().Config
			fmt.Fprintf(&b, "  p%d: voters %s", g.p, ids(cfg.Voters[0].Slice()))
			if out := cfg.Voters[1].Slice(); len(out) > 0 {
				fmt.Fprintf(&b, " outgoing %s", ids(out))
			}
			fmt.Fprintf(&b, "; stored at %d: %s\n", g.st.snapIndex, ids(g.st.cs.GetVoters()))
		}
	}
	return b.String()
}
