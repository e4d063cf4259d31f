package graph

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/stretchr/testify/require"
)

// fakeStage records Start and Stop calls in a shared log.
type fakeStage struct {
	name     string
	log      *[]string
	startErr error
	stopErr  error
}

func (f *fakeStage) Start() error {
	*f.log = append(*f.log, "start "+f.name)
	return f.startErr
}

func (f *fakeStage) Stop(context.Context) error {
	*f.log = append(*f.log, "stop "+f.name)
	return f.stopErr
}

// pipeline builds netio -> decode -> persist -> ack with a feedback edge
// ack -> persist, adding stages in a scrambled order.
func pipeline(log *[]string) (*Topology, map[string]*fakeStage) {
	var t Topology
	stages := map[string]*fakeStage{}
	for _, name := range []string{"persist", "ack", "netio", "decode"} {
		stages[name] = &fakeStage{name: name, log: log}
		t.AddStage(name, stages[name])
	}
	t.AddEdge("netio", "decode", 8, false)
	t.AddEdge("decode", "persist", 8, false)
	t.AddEdge("persist", "ack", 8, false)
	t.AddEdge("ack", "persist", 4, true)
	return &t, stages
}

func TestTopologyStartStopOrder(t *testing.T) {
	var log []string
	top, _ := pipeline(&log)
	require.NoError(t, top.Validate())
	require.NoError(t, top.Start())
	require.Equal(t, []string{"start ack", "start persist", "start decode", "start netio"}, log)
	log = nil
	require.NoError(t, top.Stop(context.Background()))
	require.NoError(t, top.Stop(context.Background()))
	require.Equal(t, []string{"stop netio", "stop decode", "stop persist", "stop ack"}, log)
	require.Error(t, top.Start(), "a topology starts once")
}

func TestTopologyStartFailureStopsStarted(t *testing.T) {
	var log []string
	top, stages := pipeline(&log)
	boom := errors.New("boom")
	stages["decode"].startErr = boom
	err := top.Start()
	require.ErrorIs(t, err, boom)
	require.Contains(t, err.Error(), `stage "decode"`)
	require.Equal(t, []string{"start ack", "start persist", "start decode", "stop persist", "stop ack"}, log)
}

func TestTopologyStopErrorsJoined(t *testing.T) {
	var log []string
	top, stages := pipeline(&log)
	require.NoError(t, top.Start())
	errA, errB := errors.New("a"), errors.New("b")
	stages["netio"].stopErr, stages["ack"].stopErr = errA, errB
	err := top.Stop(context.Background())
	require.ErrorIs(t, err, errA)
	require.ErrorIs(t, err, errB)
	require.Len(t, log, 8, "every stage is stopped despite errors")
}

func TestTopologyValidateListsEveryProblem(t *testing.T) {
	var log []string
	var top Topology
	for _, name := range []string{"a", "b", "c", "a", "lonely", ""} {
		top.AddStage(name, &fakeStage{name: name, log: &log})
	}
	top.AddStage("nilstage", nil)
	top.AddEdge("a", "b", 1, false)
	top.AddEdge("b", "c", 0, false)
	top.AddEdge("c", "a", 1, false)
	top.AddEdge("c", "ghost", 1, false)
	top.AddEdge("a", "b", 1, false)
	top.AddEdge("nilstage", "nilstage", 1, true)
	top.RegisterDepth("x->y", func() int { return 0 })
	err := top.Validate()
	require.ErrorIs(t, err, ErrInvalidTopology)
	for _, want := range []string{
		`duplicate stage name "a"`,
		`stage 5 has an empty name`,
		`stage "nilstage" is nil`,
		`stage "lonely" has no edges`,
		`edge b->c: capacity 0, must be at least 1`,
		`edge c->ghost: unknown stage "ghost"`,
		`duplicate edge a->b`,
		`depth registered for unknown edge "x->y"`,
		`cycle not broken by a feedback edge: a -> b -> c -> a`,
	} {
		require.Contains(t, err.Error(), want)
	}
	require.Contains(t, err.Error(), "(9 problems)")
	require.ErrorIs(t, top.Start(), ErrInvalidTopology)
	require.Empty(t, log)
}

func TestTopologySingleStageNeedsNoEdges(t *testing.T) {
	var log []string
	var top Topology
	top.AddStage("only", &fakeStage{name: "only", log: &log})
	require.NoError(t, top.Validate())
}

func TestTopologyMetrics(t *testing.T) {
	var log []string
	top, _ := pipeline(&log)
	r, err := NewEdgeRing[int](top, "netio", "decode")
	require.NoError(t, err)
	require.Equal(t, 8, r.Cap())
	_, err = NewEdgeRing[int](top, "netio", "ack")
	require.Error(t, err)
	require.True(t, r.TryPush(1) && r.TryPush(2))

	set := metrics.NewSet()
	top.Metrics(set)
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	out := buf.String()
	require.Contains(t, out, `swarmmq_ring_depth{edge="netio->decode"} 2`)
	require.Contains(t, out, `swarmmq_ring_capacity{edge="netio->decode"} 8`)
	require.Contains(t, out, `swarmmq_ring_capacity{edge="ack->persist"} 4`)
	require.Equal(t, 1, strings.Count(out, "swarmmq_ring_depth"))
}
