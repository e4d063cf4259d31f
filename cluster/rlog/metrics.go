package rlog

import (
	"cmp"
	"slices"

	"github.com/VictoriaMetrics/metrics"
)

// logMetrics are the log's swarmmq_raft_* families (docs/metrics.md).
type logMetrics struct {
	proposals     *metrics.Counter // handed to raft
	failed        *metrics.Counter // failed NOT_LEADER (any cause)
	notLeader     *metrics.Counter // refused before raft: not led here
	applied       *metrics.Counter // committed entries handed out
	restores      *metrics.Counter
	leaderChanges *metrics.Counter
	elections     *metrics.Counter // leaderships this node won
	confChanges   *metrics.Counter // conf change entries applied
}

func newMetrics(set *metrics.Set, l *Log) logMetrics {
	set.NewGauge("swarmmq_raft_apply_lag_entries", func() float64 { return float64(l.ApplyLag()) })
	set.NewGauge("swarmmq_raft_incarnation", func() float64 { return float64(IncarnationOf(l.self)) })
	return logMetrics{
		proposals:     set.NewCounter("swarmmq_raft_proposals_total"),
		failed:        set.NewCounter("swarmmq_raft_proposals_failed_total"),
		notLeader:     set.NewCounter("swarmmq_raft_not_leader_total"),
		applied:       set.NewCounter("swarmmq_raft_commits_total"),
		restores:      set.NewCounter("swarmmq_raft_snapshots_restored_total"),
		leaderChanges: set.NewCounter("swarmmq_raft_leader_changes_total"),
		elections:     set.NewCounter("swarmmq_raft_elections_won_total"),
		confChanges:   set.NewCounter("swarmmq_raft_conf_changes_total"),
	}
}

// ApplyLag sums, over the partitions replicated here, the committed
// entries the engine has not handed to the state machine yet.
func (l *Log) ApplyLag() uint64 {
	if l.eng == nil {
		return 0
	}
	var lag uint64
	for p := range l.parts {
		if pr, err := l.eng.Progress(p); err == nil && pr.Commit > pr.Applied {
			lag += pr.Commit - pr.Applied
		}
	}
	return lag
}

// Status is one replicated partition as this node sees it. A plain value.
type Status struct {
	Partition uint32
	// Term is the raft term; Leader the leader's node id ("" if unknown).
	Term   uint64
	Leader string
	// Commit is the commit index this node knows, Applied how far it has
	// handed entries to the state machine.
	Commit, Applied uint64
}

// Status returns every partition replicated here, in increasing order.
func (l *Log) Status() []Status {
	out := make([]Status, 0, len(l.parts))
	for _, g := range l.opts.Groups {
		ld, err := l.eng.Leadership(g.Partition)
		if err != nil {
			continue
		}
		pr, _ := l.eng.Progress(g.Partition)
		out = append(out, Status{Partition: g.Partition, Term: ld.Term, Leader: l.nodes[keyOf(ld.Leader)].ID,
			Commit: pr.Commit, Applied: pr.Applied})
	}
	slices.SortFunc(out, func(a, b Status) int { return cmp.Compare(a.Partition, b.Partition) })
	return out
}
