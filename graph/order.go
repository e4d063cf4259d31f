package graph

import (
	"context"
	"errors"
	"fmt"
)

// successors returns, for each stage index, the indexes its non-feedback
// edges lead to, in edge order. Edges naming unknown stages are skipped.
func (t *Topology) successors(index map[string]int) [][]int {
	next := make([][]int, len(t.stages))
	for _, e := range t.edges {
		r, ok := t.ring(e.Ring)
		from, ok1 := index[e.From]
		to, ok2 := index[r.To]
		if e.Feedback || !ok || !ok1 || !ok2 {
			continue
		}
		next[from] = append(next[from], to)
	}
	return next
}

// cycles returns one path per cycle found among the non-feedback edges, each
// listed as stage names with the first repeated at the end.
func (t *Topology) cycles(index map[string]int) [][]string {
	const (
		white = iota // not visited
		grey         // on the current path
		black        // done
	)
	next := t.successors(index)
	color := make([]int, len(t.stages))
	var path []int
	var found [][]string
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		path = append(path, i)
		for _, j := range next[i] {
			switch color[j] {
			case white:
				visit(j)
			case grey:
				found = append(found, t.cyclePath(path, j))
			}
		}
		path = path[:len(path)-1]
		color[i] = black
	}
	for i := range t.stages {
		if color[i] == white {
			visit(i)
		}
	}
	return found
}

// cyclePath returns the names on path from stage j to its end, then j again.
func (t *Topology) cyclePath(path []int, j int) []string {
	var names []string
	for k := len(path) - 1; k >= 0; k-- {
		if path[k] == j {
			for _, i := range path[k:] {
				names = append(names, t.stages[i].name)
			}
			break
		}
	}
	return append(names, t.stages[j].name)
}

// order returns the stage indexes sources first: a topological order over
// the non-feedback edges, ties broken by the order stages were added. The
// topology must be valid (acyclic over non-feedback edges).
func (t *Topology) order() []int {
	index := make(map[string]int, len(t.stages))
	for i, s := range t.stages {
		index[s.name] = i
	}
	next := t.successors(index)
	indegree := make([]int, len(t.stages))
	for _, succ := range next {
		for _, j := range succ {
			indegree[j]++
		}
	}
	var order []int
	done := make([]bool, len(t.stages))
	for len(order) < len(t.stages) {
		// Pick the first stage (in insertion order) with no pending input.
		// Quadratic, but topologies have about ten stages.
		for i := range t.stages {
			if !done[i] && indegree[i] == 0 {
				done[i] = true
				order = append(order, i)
				for _, j := range next[i] {
					indegree[j]--
				}
				break
			}
		}
	}
	return order
}

// Start validates the topology, then starts the stages sinks first (reverse
// topological order over the non-feedback edges), so every stage's consumers
// run before it produces. If a stage fails to start, the stages already
// started are stopped (sources first, with no deadline) and the start error
// is returned. Start may be called once.
func (t *Topology) Start() error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.started != nil {
		return errors.New("swarmmq/graph: topology already started")
	}
	t.mu.started = []int{}
	t.mu.stopped = make(map[int]bool)
	order := t.order()
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		if err := t.stages[i].stage.Start(); err != nil {
			err = fmt.Errorf("cannot start stage %q: %w", t.stages[i].name, err)
			return errors.Join(err, t.stopLocked(context.Background()))
		}
		t.mu.started = append(t.mu.started, i)
	}
	return nil
}

// Stop stops the started stages sources first (the reverse of the start
// order), so each ring drains into a consumer that is still running. Every
// stage's Stop is called once, even if an earlier one fails or ctx ends;
// Stop returns every error joined. Calling Stop again stops nothing twice.
func (t *Topology) Stop(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopLocked(ctx)
}

func (t *Topology) stopLocked(ctx context.Context) error {
	var errs []error
	for k := len(t.mu.started) - 1; k >= 0; k-- {
		i := t.mu.started[k]
		if t.mu.stopped[i] {
			continue
		}
		t.mu.stopped[i] = true
		if err := t.stages[i].stage.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("cannot stop stage %q: %w", t.stages[i].name, err))
		}
	}
	return errors.Join(errs...)
}
