package graph

import (
	"bytes"
	"errors"
	"runtime/pprof"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGroupFirstError(t *testing.T) {
	var g Group
	errA := errors.New("a failed")
	first := make(chan struct{})
	g.Go("a", func() error { defer close(first); return errA })
	g.Go("b", func() error { <-first; return errors.New("b failed") })
	g.Go("c", func() error { return nil })
	err := g.Wait()
	require.ErrorIs(t, err, errA)
	require.EqualError(t, err, "a: a failed")
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
