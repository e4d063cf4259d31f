package graph

import (
	"bytes"
	"errors"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGroupFirstError(t *testing.T) {
	var g Group
	errA := errors.New("a failed")
	first := make(chan struct{})
	g.Go("a", func() error { defer close(first); return errA })
	g.Go("b", func() error {
		// a's error is recorded after its fn has returned (and closed
		// first): wait until it is, so that b's error really comes second.
		<-first
		for !hasErr(&g) {
			time.Sleep(time.Millisecond) // polling interval, not synchronisation
		}
		return errors.New("b failed")
	})
	g.Go("c", func() error { return nil })
	err := g.Wait()
	require.ErrorIs(t, err, errA)
	require.EqualError(t, err, "a: a failed")
}

// hasErr reports whether g has recorded an error.
func hasErr(g *Group) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mu.err != nil
}

func TestGroupZeroGoroutines(t *testing.T) {
	var g Group
	require.NoError(t, g.Wait())
}

func TestGroupPprofLabel(t *testing.T) {
	var g Group
	running, release := make(chan struct{}), make(chan struct{})
	g.Go("decode", func() error {
		close(running)
		<-release
		return nil
	})
	<-running
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	close(release)
	require.NoError(t, g.Wait())
	require.Contains(t, buf.String(), `"stage":"decode"`)
}
