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

// RingSpec describes one ring of the graph (or one set of rings, one per
// lane, for a stage sharded over workers): the input of stage To, fed by the
// stages of the edges that name it.
type RingSpec struct {
	// Name names the ring; it labels the ring's gauges and the edges that
	// feed it. Usually the consumer's name ("persist"), or the consumer's
	// name and what the ring carries ("fanout-log").
	Name string
	// To is the consuming stage.
	To string
	// Lanes is the number of rings (one per worker of To; at least 1).
	Lanes int
	// Capacity is each lane's capacity in items (at least 1).
	Capacity int
}

// Edge is a producer of a ring: stage From pushes into ring Ring.
type Edge struct {
	// From is the producing stage.
	From string
	// Ring is the name of the ring From pushes into (see RingSpec).
	Ring string
	// Feedback marks an edge that points back up the graph (for example
	// fanout->persist). It may close a cycle and is ignored when ordering
	// Start and Stop; its producer must only ever TryPush into it, since a
	// blocking Push around a cycle can deadlock.
	Feedback bool
}

// Name returns the edge's name, "From->Ring".
func (e Edge) Name() string { return e.From + "->" + e.Ring }

type namedStage struct {
	name  string
	stage Stage
}

// madeRings are the rings of one RingSpec, once made.
type madeRings struct {
	rings any // []*Ring[T]
	depth []func() int
}

// Topology is a node's stages and the rings between them, held as data: the
// rings are made from it (MakeRings), so the description the graph is
// validated, started, stopped and observed by is the one its rings came
// from.
//
// Build it from one goroutine: describe the rings (AddRing) and who feeds
// them (AddEdge), make the rings (MakeRings, MakeRing) and hand them to the
// stages, then add the stages (AddStage). After that, Validate, Start, Stop
// and Metrics are safe for concurrent use. Errors made while building
// (duplicate names and the like) are reported by Validate, all at once,
// rather than by the Add methods.
type Topology struct {
	stages []namedStage
	rings  []RingSpec
	edges  []Edge
	made   map[string]*madeRings // by ring name

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

// AddRing describes a ring (lanes rings of the given capacity each) that
// stage to consumes.
func (t *Topology) AddRing(name, to string, lanes, capacity int) {
	t.rings = append(t.rings, RingSpec{Name: name, To: to, Lanes: lanes, Capacity: capacity})
}

// AddEdge says that stage from pushes into the ring named ring. See Edge
// for the meaning of feedback.
func (t *Topology) AddEdge(from, ring string, feedback bool) {
	t.edges = append(t.edges, Edge{From: from, Ring: ring, Feedback: feedback})
}

// Rings returns a copy of the ring descriptions, in the order they were
// added.
func (t *Topology) Rings() []RingSpec { return append([]RingSpec(nil), t.rings...) }

// Edges returns a copy of the edges, in the order they were added.
func (t *Topology) Edges() []Edge { return append([]Edge(nil), t.edges...) }

// ring returns the description of the ring named name.
func (t *Topology) ring(name string) (RingSpec, bool) {
	for _, r := range t.rings {
		if r.Name == name {
			return r, true
		}
	}
	return RingSpec{}, false
}

// MakeRings makes the rings described under name, one per lane with the
// described capacity, and returns them; a later call for the same name
// returns the same rings (every producer and the consumer get the rings
// they share). It fails if no ring has that name, its lanes or capacity are
// not positive, or the rings were made for another item type.
func MakeRings[T any](t *Topology, name string) ([]*Ring[T], error) {
	spec, ok := t.ring(name)
	if !ok {
		return nil, fmt.Errorf("swarmmq/graph: no ring %q", name)
	}
	if m, ok := t.made[name]; ok {
		rs, ok := m.rings.([]*Ring[T])
		if !ok {
			return nil, fmt.Errorf("swarmmq/graph: ring %q was made for items of type %T", name, m.rings)
		}
		return rs, nil
	}
	if spec.Lanes < 1 || spec.Capacity < 1 {
		return nil, fmt.Errorf("swarmmq/graph: ring %q has %d lanes of capacity %d", name, spec.Lanes, spec.Capacity)
	}
	rs := make([]*Ring[T], spec.Lanes)
	m := &madeRings{rings: rs}
	for i := range rs {
		rs[i] = NewRing[T](spec.Capacity)
		m.depth = append(m.depth, rs[i].Len)
	}
	if t.made == nil {
		t.made = make(map[string]*madeRings)
	}
	t.made[name] = m
	return rs, nil
}

// MakeRing is MakeRings for a ring of one lane.
func MakeRing[T any](t *Topology, name string) (*Ring[T], error) {
	rs, err := MakeRings[T](t, name)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("swarmmq/graph: ring %q has %d lanes, not 1", name, len(rs))
	}
	return rs[0], nil
}

// Metrics creates, in set, the gauges swarmmq_ring_depth and
// swarmmq_ring_capacity of every ring made, labelled {ring="name"}, and
// {ring="name",lane="i"} for rings of several lanes: one series per real
// ring, with that ring's own capacity. Call it once per set, after making
// the rings.
func (t *Topology) Metrics(set *metrics.Set) {
	for _, spec := range t.rings {
		m, ok := t.made[spec.Name]
		if !ok {
			continue
		}
		capacity := float64(spec.Capacity)
		for i, depth := range m.depth {
			labels := fmt.Sprintf(`{ring=%q}`, spec.Name)
			if spec.Lanes > 1 {
				labels = fmt.Sprintf(`{ring=%q,lane="%d"}`, spec.Name, i)
			}
			set.NewGauge("swarmmq_ring_capacity"+labels, func() float64 { return capacity })
			set.NewGauge("swarmmq_ring_depth"+labels, func() float64 { return float64(depth()) })
		}
	}
}

// Validate reports every problem of the topology in one error marked with
// ErrInvalidTopology: empty, duplicate or unknown stage names, nil stages,
// duplicate or unknown rings and edges, lanes or capacities below 1, rings
// never made or fed by no stage, cycles not broken by a feedback edge, and
// (when there are several stages) stages with no edge at all.
func (t *Topology) Validate() error {
	var problems []error
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	index := t.checkStages(add)
	t.checkRings(index, add)
	t.checkEdges(index, add)
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
			connected[e.From] = true
		}
		for _, r := range t.rings {
			connected[r.To] = true
		}
		for _, s := range t.stages {
			if s.name != "" && !connected[s.name] {
				add("stage %q has no edges", s.name)
			}
		}
	}
	return index
}

// checkRings reports problems of the ring descriptions.
func (t *Topology) checkRings(index map[string]int, add func(string, ...any)) {
	seen := make(map[string]bool, len(t.rings))
	fed := make(map[string]bool, len(t.edges))
	for _, e := range t.edges {
		fed[e.Ring] = true
	}
	for _, r := range t.rings {
		if _, ok := index[r.To]; !ok {
			add("ring %q: unknown stage %q", r.Name, r.To)
		}
		if r.Lanes < 1 || r.Capacity < 1 {
			add("ring %q: %d lanes of capacity %d, both must be at least 1", r.Name, r.Lanes, r.Capacity)
		}
		if seen[r.Name] {
			add("duplicate ring %q", r.Name)
		}
		seen[r.Name] = true
		if _, ok := t.made[r.Name]; !ok {
			add("ring %q was never made (MakeRings)", r.Name)
		}
		if !fed[r.Name] {
			add("ring %q is fed by no stage", r.Name)
		}
	}
}

func (t *Topology) checkEdges(index map[string]int, add func(string, ...any)) {
	seen := make(map[string]bool, len(t.edges))
	for _, e := range t.edges {
		if _, ok := index[e.From]; !ok {
			add("edge %s: unknown stage %q", e.Name(), e.From)
		}
		if _, ok := t.ring(e.Ring); !ok {
			add("edge %s: unknown ring %q", e.Name(), e.Ring)
		}
		if seen[e.Name()] {
			add("duplicate edge %s", e.Name())
		}
		seen[e.Name()] = true
	}
}
