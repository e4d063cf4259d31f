package graph

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// ErrInvalidTopology marks the error Topology.Validate returns; the error
// lists every problem found.
var ErrInvalidTopology = errors.New("swarmmq/graph: invalid topology")

// Edge is a ring between two stages: From pushes, To pops.
type Edge struct {
	// From is the producing stage.
	From string
	// To is the consuming stage.
	To string
	// Capacity is the ring capacity in items (must be positive).
	Capacity int
	// Feedback marks an edge that points back up the graph (for example
	// fanout->persist). It may close a cycle and is ignored when ordering
	// Start and Stop; its producer must only ever TryPush into it, since a
	// blocking Push around a cycle can deadlock.
	Feedback bool
}

// Name returns the edge's name, "From->To", used as the metric label and as
// the key of RegisterDepth.
func (e Edge) Name() string { return EdgeName(e.From, e.To) }

// EdgeName returns the name of the edge from one stage to another: "from->to".
func EdgeName(from, to string) string { return from + "->" + to }

type namedStage struct {
	name  string
	stage Stage
}

// Topology is a node's stages and the rings between them, held as data so it
// can be validated, started and stopped in the right order, and observed.
//
// Build it with AddStage, AddEdge and RegisterDepth from one goroutine; then
// Validate, Start, Stop and Metrics are safe for concurrent use. Errors made
// while building (duplicate names and the like) are reported by Validate,
// all at once, rather than by the Add methods.
type Topology struct {
	stages []namedStage
	edges  []Edge
	depth  map[string]func() int // by edge name

	mu struct {
		sync.Mutex
		started []int        // stage indexes, in start order
		stopped map[int]bool // stages whose Stop has been called
	}
}

// AddStage adds a stage under a unique name.
func (t *Topology) AddStage(name string, s Stage) {
	t.stages = append(t.stages, namedStage{name: name, stage: s})
}

// AddEdge adds a ring of the given capacity from one stage to another. See
// Edge for the meaning of feedback.
func (t *Topology) AddEdge(from, to string, capacity int, feedback bool) {
	t.edges = append(t.edges, Edge{From: from, To: to, Capacity: capacity, Feedback: feedback})
}

// Edges returns a copy of the edges, in the order they were added.
func (t *Topology) Edges() []Edge { return append([]Edge(nil), t.edges...) }

// Edge returns the edge from one stage to another.
func (t *Topology) Edge(from, to string) (Edge, bool) {
	for _, e := range t.edges {
		if e.From == from && e.To == to {
			return e, true
		}
	}
	return Edge{}, false
}

// RegisterDepth registers fn as the depth (items queued) of the edge named
// name ("from->to"); Metrics exports it as a gauge. Usually fn is a ring's
// Len method; NewEdgeRing does this for you.
func (t *Topology) RegisterDepth(name string, fn func() int) {
	if t.depth == nil {
		t.depth = make(map[string]func() int)
	}
	t.depth[name] = fn
}

// NewEdgeRing returns a ring with the capacity of the edge from one stage to
// another and registers its Len as that edge's depth. It fails if there is
// no such edge or its capacity is not positive.
func NewEdgeRing[T any](t *Topology, from, to string) (*Ring[T], error) {
	e, ok := t.Edge(from, to)
	if !ok {
		return nil, fmt.Errorf("swarmmq/graph: no edge %s", EdgeName(from, to))
	}
	if e.Capacity < 1 {
		return nil, fmt.Errorf("swarmmq/graph: edge %s has capacity %d", e.Name(), e.Capacity)
	}
	r := NewRing[T](e.Capacity)
	t.RegisterDepth(e.Name(), r.Len)
	return r, nil
}

// Metrics creates, in set, the gauges swarmmq_ring_capacity{edge="from->to"}
// for every edge and swarmmq_ring_depth{edge="from->to"} for every edge with
// a registered depth function. Call it once per set, after building.
func (t *Topology) Metrics(set *metrics.Set) {
	for _, e := range t.edges {
		capacity := float64(e.Capacity)
		set.NewGauge(fmt.Sprintf(`swarmmq_ring_capacity{edge=%q}`, e.Name()), func() float64 { return capacity })
		if fn, ok := t.depth[e.Name()]; ok {
			set.NewGauge(fmt.Sprintf(`swarmmq_ring_depth{edge=%q}`, e.Name()), func() float64 { return float64(fn()) })
		}
	}
}

// Validate reports every problem of the topology in one error marked with
// ErrInvalidTopology: empty, duplicate or unknown stage names, nil stages,
// duplicate edges, capacities below 1, depth functions for unknown edges,
// cycles not broken by a feedback edge, and (when there are several stages)
// stages with no edge at all.
func (t *Topology) Validate() error {
	var problems []error
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	index := t.checkStages(add)
	t.checkEdges(index, add)
	for name := range t.depth {
		if !t.hasEdgeNamed(name) {
			add("depth registered for unknown edge %q", name)
		}
	}
	for _, cycle := range t.cycles(index) {
		add("cycle not broken by a feedback edge: %s", strings.Join(cycle, " -> "))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w (%d problems):\n%w", ErrInvalidTopology, len(problems), errors.Join(problems...))
}

// checkStages reports stage problems and returns the index of each valid name.
func (t *Topology) checkStages(add func(string, ...any)) map[string]int {
	index := make(map[string]int, len(t.stages))
	for i, s := range t.stages {
		switch _, dup := index[s.name]; {
		case s.name == "":
			add("stage %d has an empty name", i)
		case dup:
			add("duplicate stage name %q", s.name)
		default:
			index[s.name] = i
		}
		if s.stage == nil {
			add("stage %q is nil", s.name)
		}
	}
	if len(t.stages) > 1 {
		connected := make(map[string]bool)
		for _, e := range t.edges {
			connected[e.From], connected[e.To] = true, true
		}
		for _, s := range t.stages {
			if s.name != "" && !connected[s.name] {
				add("stage %q has no edges", s.name)
			}
		}
	}
	return index
}

func (t *Topology) checkEdges(index map[string]int, add func(string, ...any)) {
	seen := make(map[string]bool, len(t.edges))
	for _, e := range t.edges {
		for _, end := range []string{e.From, e.To} {
			if _, ok := index[end]; !ok {
				add("edge %s: unknown stage %q", e.Name(), end)
			}
		}
		if e.Capacity < 1 {
			add("edge %s: capacity %d, must be at least 1", e.Name(), e.Capacity)
		}
		if seen[e.Name()] {
			add("duplicate edge %s", e.Name())
		}
		seen[e.Name()] = true
	}
}

func (t *Topology) hasEdgeNamed(name string) bool {
	for _, e := range t.edges {
		if e.Name() == name {
			return true
		}
	}
	return false
}
