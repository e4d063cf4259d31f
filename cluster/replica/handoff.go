package replica

import (
	"context"
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
)

// Handing off leadership before a clean stop (Kafka's controlled
// shutdown, in raft terms). A leader that simply stops leaves its
// followers waiting for an election timeout (300–550 ms) before one of
// them pre-votes, and its clients waiting as long. A leader that hands
// off first asks raft to transfer each partition it leads to its most
// caught-up follower: raft brings that follower's log up to the leader's
// last index, then sends it MsgTimeoutNow, and the follower campaigns at
// once (no pre-vote, no lease wait); the new leader is elected within a
// few round trips, and its state is complete at once because a follower
// applies every committed entry. raft drops the proposals made while a
// transfer is in progress; the engine holds them instead (group.held) and
// settles them when the transfer ends: proposed after all if it was given
// up (raft gives a transfer up after an election timeout, and the loop
// starts another at its next tick), or failed with a *NotLeaderError once
// the new leader is known here, so that the client, sent elsewhere, finds
// the new leader named. While handing off, the node does not tick the
// partitions it follows, so it never campaigns to take one back.

// HandOff asks the loop to transfer the leadership of every partition this
// node leads to a voter with the longest log among those recently active
// (handOff), and waits until each of them has another leader (known here, so
// requests are forwarded to it) or has no follower to take it (a group of
// one replica, or whose followers have all been silent for an election
// timeout: it keeps its leader), or ctx ends (its error), or the engine
// stops (ErrStopped). The engine goes on running: the caller then stops it. Safe for
// concurrent use; handing off is never undone.
func (e *Engine) HandOff(ctx context.Context) error {
	var led []*group
	for _, g := range e.order {
		if g.lead.Load().Leader == e.opts.ID {
			led = append(led, g)
		}
	}
	e.requestHandOff()
	for {
		ch := e.leadChanged()
		if e.handedOff(led) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-e.done:
			return ErrStopped
		}
	}
}

// handedOff reports whether every group of led has a leader other than
// this node, or no follower to take it.
func (e *Engine) handedOff(led []*group) bool {
	for _, g := range led {
		if l := g.lead.Load().Leader; (l == 0 || l == e.opts.ID) && !g.noHeir.Load() {
			return false
		}
	}
	return true
}

// requestHandOff makes the loop hand off from its next iteration on.
func (e *Engine) requestHandOff() {
	e.in.Lock()
	e.in.handoff = true
	e.in.Unlock()
	e.poke()
}

// leadChanged returns a channel closed at the next leadership change.
func (e *Engine) leadChanged() <-chan struct{} {
	e.changed.Lock()
	defer e.changed.Unlock()
	return e.changed.ch
}

// notifyLeadership wakes HandOff's waiters.
func (e *Engine) notifyLeadership() {
	e.changed.Lock()
	close(e.changed.ch)
	e.changed.ch = make(chan struct{})
	e.changed.Unlock()
}

// handOff starts a leadership transfer of g unless one is in progress or
// g is not led here: to a voter with the highest match among those raft
// saw active in the last election timeout. Of equals, partition p takes
// the (p mod n)-th by id, so a node's partitions spread over its peers.
func (g *group) handOff() {
	if !g.leader {
		return
	}
	st := g.rn.Status()
	if st.RaftState != raft.StateLeader || st.LeadTransferee != 0 {
		return
	}
	var best []uint64
	var match uint64
	voters := 0
	for id, pr := range st.Progress {
		if id == g.e.opts.ID || pr.IsLearner {
			continue
		}
		voters++
		switch {
		case !pr.RecentActive:
		case len(best) == 0 || pr.Match > match:
			best, match = []uint64{id}, pr.Match
		case pr.Match == match:
			best = append(best, id)
		}
	}
	if len(best) == 0 {
		// CheckQuorum clears every follower's RecentActive at each
		// election timeout, and its next response sets it again: a look
		// just after the check finds none active. So only a group with no
		// other voter, or whose followers stayed silent for an election
		// timeout of looks (one a tick), has no heir.
		g.heirless++
		if (voters == 0 || g.heirless > g.e.opts.ElectionTicks) && !g.noHeir.Swap(true) {
			g.e.notifyLeadership() // HandOff need not wait for g
		}
		return
	}
	g.heirless = 0
	g.noHeir.Store(false)
	slices.Sort(best)
	to := best[int(g.p)%len(best)]
	g.e.opts.Logger.Info("handing off leadership", "partition", g.p, "to", fmt.Sprintf("%x", to), "match", match,
		"last", g.st.last)
	g.rn.TransferLeader(to)
}

// settleHeld settles the proposals held during a transfer once it has
// ended (handOff): proposed if g still leads, failed naming the new leader
// once one is known.
func (g *group) settleHeld() {
	if len(g.held) == 0 {
		return
	}
	st := g.rn.BasicStatus()
	switch {
	case st.RaftState == raft.StateLeader && st.LeadTransferee == 0:
		held := g.held
		g.held = nil
		for _, pr := range held {
			g.propose(pr)
		}
		g.e.poke() // their entries are in the next Ready
	case st.RaftState != raft.StateLeader && st.Lead != 0:
		for _, pr := range g.held {
			g.e.lost(g.p, pr, &NotLeaderError{Partition: g.p, Leader: st.Lead, Term: st.GetTerm()})
		}
		g.held = nil
	}
}
