package client

import (
	"context"
	"runtime/pprof"
	"sync"
)

// group runs the goroutines a Client owns, each under a pprof label, and
// waits for them. It is safe for concurrent use.
type group struct {
	wg sync.WaitGroup
}

// Go runs fn on a new goroutine labelled swarmmq=client-<name>.
func (g *group) Go(name string, fn func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		pprof.Do(context.Background(), pprof.Labels("swarmmq", "client-"+name), func(context.Context) {
			fn()
		})
	}()
}

// Wait blocks until every goroutine started by Go has returned.
func (g *group) Wait() {
	g.wg.Wait()
}
