package replica

import (
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Membership changes. A partition's voters change only to replace a
// replica whose node came back with a new raft id (its data directory was
// wiped: a new incarnation, cluster/rlog). The leader asks Hooks.Replace
// for each voter; when a voter has a successor it proposes ONE
// ConfChangeV2 that removes the old id and adds the new one, with raft's
// automatic joint consensus: the group commits under both the old and the
// new voter sets until raft itself proposes leaving the joint
// configuration. The other replicas form a quorum of either set, so the
// group keeps committing while the new replica catches up. (Adding the new
// id as a learner first would not help: the old id is dead, so it counts
// for nothing in either set.)
//
// A conf change entry is kept in the log like any entry, its value tagged
// so that it reads back with its type (records never start with the tag):
//
//	+------------+-----------------+----------------------------------+
//	| 0xFE (tag) | entry type u8   | ConfChange / ConfChangeV2 (proto)|
//	+------------+-----------------+----------------------------------+
//
// The ConfState kept in the raft state ('R') is the one of the partition's
// snapshot index: at a restart raft applies again every committed entry
// after the snapshot, conf changes included, and each is applied to the
// configuration it was made against (applying one twice would enter a
// joint configuration twice, which raft refuses). The group keeps the
// configurations reached since the snapshot (confs) to know the one at a
// later compaction's index.

// confTag starts the stored value of a conf change entry.
const confTag = 0xFE

// encodeEntry returns the value stored for e.
func encodeEntry(e *pb.Entry) []byte {
	if e.GetType() == pb.EntryNormal {
		return e.GetData()
	}
	return append([]byte{confTag, byte(e.GetType())}, e.GetData()...)
}

// decodeEntry turns a stored value back into its type and data (a view).
func decodeEntry(v []byte) (pb.EntryType, []byte) {
	if len(v) >= 2 && v[0] == confTag {
		return pb.EntryType(v[1]), v[2:]
	}
	return pb.EntryNormal, v
}

// confAt is the configuration in force from index on.
type confAt struct {
	index uint64
	cs    *pb.ConfState
}

// confAtIndex returns the configuration in force at index i.
func (g *group) confAtIndex(i uint64) *pb.ConfState {
	cs := g.confs[0].cs
	for _, c := range g.confs {
		if c.index <= i {
			cs = c.cs
		}
	}
	return cs
}

// trimConfs forgets the configurations superseded at or before index i.
func (g *group) trimConfs(i uint64) {
	k := 0
	for k+1 < len(g.confs) && g.confs[k+1].index <= i {
		k++
	}
	g.confs = g.confs[k:]
}

// applyConf applies a committed conf change entry to raft's configuration.
func (g *group) applyConf(ce *pb.Entry) error {
	var cc pb.ConfChangeI
	switch ce.GetType() {
	case pb.EntryConfChange:
		var c1 pb.ConfChange
		if err := proto.Unmarshal(ce.GetData(), &c1); err != nil {
			return fmt.Errorf("swarmmq/replica: partition %d: conf change %d: %w", g.p, ce.GetIndex(), err)
		}
		cc = &c1
	default:
		var c2 pb.ConfChangeV2
		if err := proto.Unmarshal(ce.GetData(), &c2); err != nil {
			return fmt.Errorf("swarmmq/replica: partition %d: conf change %d: %w", g.p, ce.GetIndex(), err)
		}
		cc = &c2
	}
	cs := g.rn.ApplyConfChange(cc)
	g.confs = append(g.confs, confAt{index: ce.GetIndex(), cs: proto.CloneOf(cs)})
	g.e.stats.confChanges.Add(1)
	if h := g.e.opts.Hooks.ConfChange; h != nil {
		h(g.p, cs.GetVoters(), cs.GetVotersOutgoing())
	}
	g.e.opts.Logger.Info("membership changed", "partition", g.p, "index", ce.GetIndex(),
		"voters", cs.GetVoters(), "outgoing", cs.GetVotersOutgoing())
	return nil
}

// checkMembers is the leader's membership check: a voter with a successor
// (Hooks.Replace) is replaced by it in one conf change. At most one conf
// change is in flight: none is proposed while the configuration is joint or
// the last one proposed in this term is not applied yet.
func (g *group) checkMembers() {
	replace := g.e.opts.Hooks.Replace
	if replace == nil || !g.leader {
		return
	}
	cs := g.confs[len(g.confs)-1].cs
	if len(cs.GetVotersOutgoing()) > 0 || (g.confTerm == g.term && g.applied < g.confWait) {
		return
	}
	cc := &pb.ConfChangeV2{Transition: pb.ConfChangeTransitionAuto.Enum()}
	for _, v := range cs.GetVoters() {
		if v == g.e.opts.ID {
			continue
		}
		if to := replace(g.p, v); to != 0 && to != v && !slices.Contains(cs.GetVoters(), to) {
			cc.Changes = append(cc.Changes,
				&pb.ConfChangeSingle{Type: pb.ConfChangeRemoveNode.Enum(), NodeId: new(v)},
				&pb.ConfChangeSingle{Type: pb.ConfChangeAddNode.Enum(), NodeId: new(to)})
		}
	}
	if len(cc.Changes) == 0 {
		return
	}
	st := g.rn.Status()
	if st.RaftState != raft.StateLeader {
		return
	}
	if err := g.rn.ProposeConfChange(cc); err != nil {
		g.e.opts.Logger.Warn("membership change not proposed", "partition", g.p, "err", err.Error())
		return
	}
	g.confTerm, g.confWait = g.term, st.Progress[g.e.opts.ID].Match+1
	g.e.stats.confProposals.Add(1)
	g.e.opts.Logger.Info("membership change proposed", "partition", g.p, "changes", fmt.Sprint(cc.GetChanges()))
}

// snapshotFor returns m, or for a snapshot sent to a replica its
// ConfState does not name, a copy naming it as a voter. A partition's
// snapshot is the state machine's last one, taken at index S, with the
// configuration in force at S; a replica added by a conf change at C > S
// needs it all the same (raft sends one to a replica whose next entry is
// below the log's first), but raft refuses a snapshot whose configuration
// does not hold the receiver. With the receiver added, the receiver's
// configuration from S until it applies C is the true one plus itself:
// every quorum of it is a quorum of the true one too (stricter, never
// looser), and applying C and raft's leaving the joint configuration
// after it bring it to the leader's exactly (adding a voter twice changes
// nothing).
func snapshotFor(m *pb.Message) *pb.Message {
	if m.GetType() != pb.MessageType_MsgSnap {
		return m
	}
	cs := m.GetSnapshot().GetMetadata().GetConfState()
	to := m.GetTo()
	if slices.Contains(cs.GetVoters(), to) || slices.Contains(cs.GetLearners(), to) ||
		slices.Contains(cs.GetVotersOutgoing(), to) {
		return m
	}
	m = proto.CloneOf(m)
	cs = m.GetSnapshot().GetMetadata().GetConfState()
	cs.Voters = append(cs.Voters, to)
	return m
}
