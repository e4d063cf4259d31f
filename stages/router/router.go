package router

import (
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/stages/work"
)

// Deps are the stage's neighbours: Fanout[i] is the input of fanout worker
// i, which owns the partitions p with p % len(Fanout) == i.
type Deps struct {
	In      *graph.Ring[*work.Request]
	Persist *graph.Ring[*work.Request]
	Fanout  []*graph.Ring[*work.Request]
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
	for _, r := range batch {
		switch r.Kind {
		case work.KindFetch, work.KindNack:
			work.Forward(s.deps.Fanout[int(r.Partition)%len(s.deps.Fanout)], r)
		default:
			work.Forward(s.deps.Persist, r)
		}
	}
}
