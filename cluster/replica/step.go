package replica

import (
	"fmt"

	"go.etcd.io/raft/v3"
)

// input is what the loop takes from Engine.in at the start of an iteration.
type input struct {
	msgs     []Message
	props    []*proposal
	reports  []report
	compacts []compaction
	built    []built
	handoff  bool
}

func (e *Engine) take() input {
	e.in.Lock()
	defer e.in.Unlock()
	in := input{msgs: e.in.msgs, props: e.in.props, reports: e.in.reports, compacts: e.in.compacts,
		built: e.in.built, handoff: e.in.handoff && !e.handingOff}
	e.in.msgs, e.in.props, e.in.reports, e.in.compacts, e.in.built = nil, nil, nil, nil, nil
	return in
}

// step is one iteration of the loop, the deterministic core: step the
// received messages, make the proposals, tick ticks times, then handle
// every group's Ready with one write and one fsync. An error is fatal.
func (e *Engine) step(ticks int) error {
	in := e.take()
	for _, m := range in.msgs {
		if g := e.groups[m.Partition]; g != nil {
			// Errors here are stale or foreign messages raft ignores.
			_ = g.rn.Step(m.Msg)
		}
	}
	for _, r := range in.reports {
		g := e.groups[r.p]
		switch {
		case g == nil:
		case r.snap && r.failure:
			g.rn.ReportSnapshot(r.to, raft.SnapshotFailure)
		case r.snap:
			g.rn.ReportSnapshot(r.to, raft.SnapshotFinish)
			g.st.ready = nil // sent: rebuilt if another replica needs one
		default:
			g.rn.ReportUnreachable(r.to)
		}
	}
	for _, b := range in.built {
		if g := e.groups[b.req.p]; g != nil {
			g.st.install(b)
		}
	}
	for _, pr := range in.props {
		e.groups[pr.p].propose(pr)
	}
	for range ticks {
		for _, g := range e.order {
			if g.ticks() {
				g.rn.Tick()
			}
		}
	}
	e.handingOff = e.handingOff || in.handoff
	if ticks > 0 || in.handoff {
		for _, g := range e.order {
			if e.handingOff {
				g.handOff()
			} else {
				g.checkMembers()
			}
		}
	}
	return e.handleReady(in.compacts)
}

// ready is a group's Ready being handled.
type ready struct {
	g    *group
	rd   raft.Ready
	snap *snapshotPayload
}

// handleReady persists every group's Ready in one batch (one fsync if any
// needs it), then sends, then applies, then advances: persist before send,
// as raft requires (a vote or an append acknowledged must be durable).
func (e *Engine) handleReady(compacts []compaction) error {
	rb := e.opts.Log.NewRaftBatch()
	mustSync := false
	for _, c := range compacts {
		g := e.groups[c.p]
		if g == nil || c.index > g.applied {
			e.opts.Logger.Warn("compaction skipped", "partition", c.p, "index", c.index)
			continue
		}
		if err := g.st.compact(rb, c.index, c.keepFrom, c.state, g.confAtIndex(c.index)); err != nil {
			e.opts.Logger.Warn("compaction skipped", "partition", c.p, "err", err.Error())
			continue
		}
		st, err := g.st.state()
		if err != nil {
			return err
		}
		rb.SetState(g.p, st)
		g.trimConfs(c.index)
		mustSync = true
	}
	var rds []ready
	for _, g := range e.order {
		if !g.rn.HasReady() {
			continue
		}
		r := ready{g: g, rd: g.rn.Ready()}
		if err := g.persist(rb, &r); err != nil {
			return err
		}
		// raft's MustSync ignores a snapshot: a follower acknowledges the
		// snapshot's index once it is stored, so it must be durable too.
		mustSync = mustSync || r.rd.MustSync || r.snap != nil
		e.stats.entries.Add(uint64(len(r.rd.Entries)))
		rds = append(rds, r)
	}
	e.stats.iterations.Add(1)
	if !rb.Empty() {
		e.stats.writes.Add(1)
		if mustSync {
			e.stats.fsyncs.Add(1)
		}
	}
	if err := rb.Commit(mustSync); err != nil {
		return fmt.Errorf("swarmmq/replica: cannot persist: %w", err)
	}
	var out []Message
	for _, r := range rds {
		for _, m := range r.rd.Messages {
			out = append(out, Message{Partition: r.g.p, Msg: snapshotFor(m)})
		}
	}
	if len(out) > 0 {
		e.opts.Transport.Send(out)
	}
	more := false
	for _, r := range rds {
		if err := r.g.apply(&r); err != nil {
			return err
		}
		r.g.rn.Advance(r.rd)
		more = more || r.g.rn.HasReady()
	}
	for _, g := range e.order {
		g.settleHeld()
	}
	if more {
		// Committed entries beyond MaxCommittedBytesPerReady (a replica
		// replaying its log): go on at once rather than at the next tick.
		e.poke()
	}
	return nil
}
