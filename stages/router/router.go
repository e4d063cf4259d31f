package router

import (
	"context"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
)

// Deps are the stage's neighbours: Fanout[i] is the input of fanout worker
// i (owner.Table.Worker).
type Deps struct {
	In     *graph.Ring[*work.Request]
	Log    *graph.Ring[plog.Proposal] // the partition log's proposals
	Fanout []*graph.Ring[*work.Request]
	Owners *owner.Map
	Now    func() int64
	// Forward, when set, takes requests for partitions another node leads
	// (a cluster); without it, or when it declines, they are answered
	// NOT_LEADER.
	Forward Forwarder
}

// Forwarder hands a request for a partition this node does not lead to the
// partition's leader and answers it on r.Conn when the leader has. Forward
// returns false when it cannot take r (no leader known, too many requests
// forwarded): r is still the caller's.
type Forwarder interface {
	Forward(r *work.Request) bool
}

// Stage is the route stage. Start, Stop: see work.Runner.
type Stage struct {
	*work.Runner[*work.Request]
	deps Deps
}

// New builds the stage; it starts nothing.
func New(deps Deps) (*Stage, error) {
	s := &Stage{deps: deps}
	s.Runner = work.NewRunner("route", deps.In, 0, s.handle)
	return s, nil
}

func (s *Stage) handle(batch []*work.Request) {
	now := s.deps.Now()
	t := s.deps.Owners.Load()
	for _, r := range batch {
		if !t.Leads(r.Partition) && !r.Forwarded && s.deps.Forward != nil && s.deps.Forward.Forward(r) {
			continue
		}
		switch r.Kind {
		case work.KindFetch, work.KindNack, work.KindProgress:
			if !t.Leads(r.Partition) {
				r.Abort(frame.CodeNotLeader, &plog.NotLeaderError{Partition: r.Partition, Leader: t.Leader(r.Partition)})
				continue
			}
			work.Forward(s.deps.Fanout[t.Worker(r.Partition)], r)
		default:
			s.propose(r, now)
		}
	}
}

// propose hands r's record (or, when it needs none, r alone, to keep its
// place) to the partition log.
func (s *Stage) propose(r *work.Request, now int64) {
	p := plog.Proposal{Partition: r.Partition, Record: record(r, now), Req: r}
	if err := s.deps.Log.Push(context.Background(), p); err != nil {
		r.Abort(frame.CodeShuttingDown, fmt.Errorf("the node is stopping: %w", err))
	}
}

// record fills r's record, proposed at now, and returns it; nil when r
// stores nothing (a PUBLISH every message of which is already answered).
func record(r *work.Request, now int64) *queue.Record {
	rec := &r.Record
	switch r.Kind {
	case work.KindPublish:
		if r.Unresolved() == 0 {
			return nil
		}
		*rec = queue.Record{Type: queue.RecordMessages, Time: now, Dest: r.Dest}
		if r.Session {
			rec.Type = queue.RecordSessionMessages
		}
		rec.Count, rec.Raw = openMessages(r)
	case work.KindAck:
		*rec = queue.Record{Type: queue.RecordAck, Time: now, Dest: r.Dest, Group: r.Group, Seqs: r.Seqs}
	case work.KindTerm:
		*rec = queue.Record{Type: queue.RecordTerminate, Time: now, Dest: r.Dest, Group: r.Group, Seqs: r.Seqs,
			Note: r.Reason}
	default:
		return nil
	}
	return rec
}

// openMessages returns the raw section of r's unresolved messages: the
// frame's own bytes when none is resolved, else a copy of the open ones.
func openMessages(r *work.Request) (uint32, []byte) {
	if r.Unresolved() == len(r.Results) {
		return r.Pub.Count, r.Pub.Raw
	}
	raw := make([]byte, 0, len(r.Pub.Raw))
	it := r.Pub
	for i := 0; ; i++ {
		_, m, ok := it.Next()
		if !ok {
			break
		}
		if !r.Resolved(i) {
			raw = append(raw, m...)
		}
	}
	return uint32(r.Unresolved()), raw
}
