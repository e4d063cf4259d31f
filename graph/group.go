package graph

import (
	"context"
	"fmt"
	"runtime/pprof"
	"sync"
)

// Group runs named goroutines and waits for them, keeping the first error.
// It is the one place SwarmMQ stages start goroutines: each runs under the
// pprof label stage=<name>, so CPU and goroutine profiles show which stage
// spends what.
//
// The zero value is ready to use. Group is safe for concurrent use; Go must
// not be called after Wait has returned unless the group is being reused for
// a new set of goroutines.
type Group struct {
	wg sync.WaitGroup
	mu struct {
		sync.Mutex
		err error
	}
}

// Go runs fn on a new goroutine labelled stage=name. A non-nil error from
// fn is kept (wrapped with name) if it is the group's first.
func (g *Group) Go(name string, fn func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		pprof.Do(context.Background(), pprof.Labels("stage", name), func(context.Context) {
			if err := fn(); err != nil {
				g.setErr(fmt.Errorf("%s: %w", name, err))
			}
		})
	}()
}

func (g *Group) setErr(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mu.err == nil {
		g.mu.err = err
	}
}

// Wait blocks until every goroutine started with Go has returned, then
// returns the first error any of them returned.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mu.err
}
