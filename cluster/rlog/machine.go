package rlog

import (
	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
)

// machine is the Log seen as the engine's state machine: it applies
// nothing itself but turns the engine's outcomes into the seam's outputs,
// in log order, on the fanout worker's ring. Its methods run on the
// engine's loop (Lost also on the goroutine that stops the engine).
type machine Log

// Apply hands the committed entries out: this node's with the proposal's
// record and request, the others' with their record decoded (views of the
// entry's data, which stays valid) and no request. Raft's own empty
// entries carry nothing and do not come out.
func (m *machine) Apply(p uint32, ents []replica.Entry) error {
	l := (*Log)(m)
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.parts[p]
	for _, e := range ents {
		if len(e.Data) == 0 {
			continue
		}
		l.m.applied.Inc()
		if s, ok := e.Ctx.(*slot); ok {
			o := plog.Output{Kind: plog.Committed, Entry: plog.Entry{Index: e.Index, Record: s.prop.Record, Req: s.prop.Req}}
			l.committedLocked(f, s, o)
			continue
		}
		rec := new(queue.Record)
		if err := queue.DecodeRecord(e.Data, rec); err != nil {
			// Every replica decodes the same bytes the same way: the
			// entry is skipped everywhere, as fanout skips a record it
			// cannot apply.
			l.opts.Logger.Error("BUG: a committed entry does not decode", "partition", p, "index", e.Index, "err", err)
			continue
		}
		l.deliver(p, plog.Output{Kind: plog.Committed, Entry: plog.Entry{Index: e.Index, Record: rec}})
	}
	return nil
}

// Restore hands out a snapshot's state: fanout replaces the partition by
// it. The records it points at are in the log already.
func (m *machine) Restore(p uint32, index uint64, state []byte) error {
	l := (*Log)(m)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m.restores.Inc()
	l.deliver(p, plog.Output{Kind: plog.Restore, Entry: plog.Entry{Index: index}, State: append([]byte(nil), state...)})
	return nil
}

// Lost fails the proposal: the client retries (with the same message
// ids, which dedupe makes safe), at the leader the error names.
func (m *machine) Lost(p uint32, ctx any, err error) {
	l := (*Log)(m)
	s, ok := ctx.(*slot)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.decideLocked(l.parts[p], s, l.failure(p, err))
}

// leaderChange records what the engine learnt of p's leadership. The owner
// table learns the leader at once, with this node not leading: the router
// stops sending p's requests here the moment leadership is lost, and
// answers NOT_LEADER with the new leader while this node is not yet
// serving. Serving (this node leads and has applied an entry of its own
// term) comes out as Lead behind every entry applied before it; fanout
// promotes the node once it has applied them. Losing a served leadership
// comes out as Follow.
func (l *Log) leaderChange(p uint32, ld replica.Leadership) {
	info := owner.Leader{Term: ld.Term}
	if n, ok := l.nodes[keyOf(ld.Leader)]; ok && ld.Leader != 0 {
		info.ID, info.Addr = n.ID, n.Client
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	prev, serving := l.leader[p], l.serving[p]
	if prev.ID != info.ID || prev.Term != info.Term {
		l.m.leaderChanges.Inc()
		if info.ID == l.opts.Self {
			l.m.elections.Inc()
		}
	}
	l.leader[p] = info
	l.deps.Owners.SetLeadership(p, false, info)
	switch {
	case ld.Leader == l.self && ld.Serving:
		l.serving[p] = true
		l.deliver(p, plog.Output{Kind: plog.Lead, Leader: info})
		if l.opts.Announce != nil {
			l.opts.Announce(Announcement{Partition: p, Term: ld.Term, Leader: l.self})
		}
	case serving:
		l.serving[p] = false
		l.deliver(p, plog.Output{Kind: plog.Follow, Leader: info})
	}
}
