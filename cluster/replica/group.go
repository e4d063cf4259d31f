package replica

import (
	"fmt"
	"sync/atomic"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/swarmmq/swarmmq/wal"
)

// proposal is one Propose on its way: queued, then proposed to raft
// (term set), then assigned its entry's index, then applied or lost.
type proposal struct {
	p           uint32
	data        []byte
	ctx         any
	w           *waiter // ProposeWait's, instead of ctx
	term, index uint64
}

// group is one partition's raft group. Only the loop uses it, but lead,
// read by Propose and Leadership.
type group struct {
	e       *Engine
	p       uint32
	rn      *raft.RawNode
	st      *storage
	applied uint64
	lead    atomic.Pointer[Leadership]
	// progress is commit and applied for other goroutines (Progress).
	progress struct{ commit, applied atomic.Uint64 }
	// leader is set while raft is leader (SoftState), serveFrom to the
	// index of the first entry of its term (0 until seen).
	leader    bool
	term      uint64
	serveFrom uint64
	// unassigned were proposed to raft since the last Ready, in order;
	// pending have an index, ascending.
	unassigned []*proposal
	pending    []*proposal
	// held were made while a leadership transfer was in progress, which
	// raft would drop them in (handoff.go: settleHeld).
	held []*proposal
	// confs are the configurations reached since the snapshot, the first
	// the snapshot's (conf.go); confTerm and confWait hold back the next
	// conf change until the one proposed in that term is applied.
	confs              []confAt
	confTerm, confWait uint64
	// noHeir is set by handOff when no follower can take the leadership
	// (read by HandOff); heirless counts its looks in a row that found no
	// follower active.
	noHeir   atomic.Bool
	heirless int
	// startCommit is the commit index stored when the group was opened:
	// until it has applied that far, a restarted replica does not tick
	// (ticks).
	startCommit uint64
}

// ticks reports whether the loop ticks g's raft clock. A follower that
// does not tick never campaigns. Not ticked: a restarted replica until it
// has applied what it knew committed when it started (elected earlier, it
// could serve only once it had, so the partition would wait for its
// replay: better one of the others leads), and, while the node hands off
// (handoff.go), a partition it follows. A leader always ticks (heartbeats,
// CheckQuorum, aborting a stuck transfer).
func (g *group) ticks() bool {
	if g.leader {
		return true
	}
	return !g.e.handingOff && g.applied >= g.startCommit
}

// propose hands a proposal to raft, or reports it lost.
func (g *group) propose(pr *proposal) {
	st := g.rn.BasicStatus()
	if st.RaftState != raft.StateLeader {
		g.e.lost(g.p, pr, &NotLeaderError{Partition: g.p, Leader: st.Lead, Term: st.GetTerm()})
		return
	}
	if st.LeadTransferee != 0 || len(g.held) > 0 {
		g.held = append(g.held, pr)
		return
	}
	if err := g.rn.Propose(pr.data); err != nil {
		g.e.lost(g.p, pr, fmt.Errorf("%w: %w", ErrDropped, err))
		return
	}
	pr.term = st.GetTerm()
	g.unassigned = append(g.unassigned, pr)
}

// persist writes the Ready's snapshot, entries and HardState into rb, and
// follows the entries: proposals get their index, proposals whose entry is
// replaced are lost, a new leader's first entry is noted.
func (g *group) persist(rb *wal.RaftBatch, r *ready) error {
	rd := &r.rd
	if rd.SoftState != nil {
		g.leader = rd.RaftState == raft.StateLeader
		if !g.leader {
			g.serveFrom = 0
		}
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		g.st.hs = rd.HardState
		g.term = rd.GetTerm()
	}
	if rd.Snapshot != nil && !raft.IsEmptySnap(rd.Snapshot) {
		pl, err := g.st.restore(rb, rd.Snapshot)
		if err != nil {
			return err
		}
		r.snap = &pl
	}
	if err := g.st.appendEntries(rb, rd.Entries); err != nil {
		return err
	}
	g.follow(rd.Entries)
	if (rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState)) || r.snap != nil {
		s, err := g.st.state()
		if err != nil {
			return err
		}
		rb.SetState(g.p, s)
	}
	g.publish()
	return nil
}

// follow matches new entries with the proposals.
func (g *group) follow(ents []*pb.Entry) {
	if len(ents) > 0 {
		first, last := ents[0].GetIndex(), ents[len(ents)-1].GetIndex()
		// Entries from first on replace the log: a pending proposal there
		// survives only if its entry is the same (same term).
		keep := g.pending[:0]
		for _, pr := range g.pending {
			if pr.index >= first && (pr.index > last || ents[pr.index-first].GetTerm() != pr.term) {
				g.e.lost(g.p, pr, ErrLost)
				continue
			}
			keep = append(keep, pr)
		}
		g.pending = keep
	}
	for _, en := range ents {
		if g.leader && g.serveFrom == 0 && en.GetTerm() == g.term {
			g.serveFrom = en.GetIndex()
		}
		if len(g.unassigned) > 0 && en.GetType() == pb.EntryNormal && len(en.GetData()) > 0 &&
			en.GetTerm() == g.unassigned[0].term {
			pr := g.unassigned[0]
			g.unassigned = g.unassigned[1:]
			pr.index = en.GetIndex()
			g.pending = append(g.pending, pr)
		}
	}
	// Every entry raft accepted is in this Ready; one missing was replaced.
	for _, pr := range g.unassigned {
		g.e.lost(g.p, pr, ErrLost)
	}
	g.unassigned = g.unassigned[:0]
}

// apply hands a restored snapshot and the committed entries to the state
// machine and settles the proposals they answer.
func (g *group) apply(r *ready) error {
	sm := g.e.opts.StateMachine
	if r.snap != nil {
		idx := r.rd.Snapshot.GetMetadata().GetIndex()
		if err := sm.Restore(g.p, idx, r.snap.state); err != nil {
			return fmt.Errorf("swarmmq/replica: partition %d: restore: %w", g.p, err)
		}
		for len(g.pending) > 0 && g.pending[0].index <= idx {
			g.e.lost(g.p, g.pending[0], ErrUnknown)
			g.pending = g.pending[1:]
		}
		g.applied = idx
		g.confs = []confAt{{index: idx, cs: proto.CloneOf(r.rd.Snapshot.GetMetadata().GetConfState())}}
	}
	if len(r.rd.CommittedEntries) == 0 {
		g.failOrphans()
		g.publish()
		return nil
	}
	ents := make([]Entry, len(r.rd.CommittedEntries))
	var done []*proposal
	for i, ce := range r.rd.CommittedEntries {
		en := Entry{Index: ce.GetIndex(), Term: ce.GetTerm(), Data: ce.GetData()}
		if ce.GetType() != pb.EntryNormal {
			// raft's own: applied here, nothing for the state machine.
			if err := g.applyConf(ce); err != nil {
				return err
			}
			en.Data = nil
		}
		for len(g.pending) > 0 && g.pending[0].index <= en.Index {
			pr := g.pending[0]
			g.pending = g.pending[1:]
			switch {
			case pr.index < en.Index:
				g.e.lost(g.p, pr, ErrUnknown) // BUG: an index skipped; never seen
			case pr.term != en.Term:
				g.e.lost(g.p, pr, ErrLost)
			case pr.w != nil:
				pr.w.index = en.Index
				done = append(done, pr)
			default:
				en.Ctx = pr.ctx
			}
		}
		ents[i] = en
	}
	if err := sm.Apply(g.p, ents); err != nil {
		return fmt.Errorf("swarmmq/replica: partition %d: apply: %w", g.p, err)
	}
	g.applied = ents[len(ents)-1].Index
	for _, pr := range done {
		close(pr.w.done)
	}
	g.failOrphans()
	g.publish()
	return nil
}

// failOrphans fails the proposals of a node that is no longer the leader
// once this Ready's committed entries have settled what they could. It
// will not learn their fate until it hears from a quorum again — an
// isolated leader only when the network heals — and their entries may
// still commit under the next leader, so they fail ErrUnknown: their
// clients retry at the new leader at once, with the same ids, and the
// retry is recognised there if the entry did commit.
func (g *group) failOrphans() {
	if g.leader {
		return
	}
	for _, pr := range g.unassigned {
		g.e.lost(g.p, pr, ErrUnknown)
	}
	for _, pr := range g.pending {
		g.e.lost(g.p, pr, ErrUnknown)
	}
	g.unassigned, g.pending = nil, nil
}

// publish updates the leadership others read and calls the hook on change.
func (g *group) publish() {
	st := g.rn.BasicStatus()
	g.progress.commit.Store(st.GetCommit())
	g.progress.applied.Store(g.applied)
	l := Leadership{Term: st.GetTerm(), Leader: st.Lead}
	l.Serving = g.leader && l.Leader == g.e.opts.ID && g.serveFrom > 0 && g.applied >= g.serveFrom
	if old := g.lead.Load(); *old == l {
		return
	}
	g.lead.Store(&l)
	if h := g.e.opts.Hooks.LeaderChange; h != nil {
		h(g.p, l)
	}
	g.e.notifyLeadership()
}

// failAll fails every proposal of the group.
func (g *group) failAll(err error) {
	for _, pr := range g.unassigned {
		g.e.lost(g.p, pr, err)
	}
	for _, pr := range g.pending {
		g.e.lost(g.p, pr, err)
	}
	for _, pr := range g.held {
		g.e.lost(g.p, pr, err)
	}
	g.unassigned, g.pending, g.held = nil, nil, nil
}
