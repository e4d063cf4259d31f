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

// pipeline builds netio -> decode -> persist -> ack (two lanes) with a
// feedback edge ack -> persist, adding stages in a scrambled order, and
// makes its rings.
func pipeline(log *[]string) (*Topology, map[string]*fakeStage) {
	var t Topology
	t.AddRing("decode", "decode", 1, 8)
	t.AddRing("persist", "persist", 1, 8)
	t.AddRing("ack", "ack", 2, 4)
	t.AddEdge("netio", "decode", false)
	t.AddEdge("decode", "persist", false)
	t.AddEdge("persist", "ack", false)
	t.AddEdge("ack", "persist", true)
	for _, name := range []string{"decode", "persist", "ack"} {
		if _, err := MakeRings[int](&t, name); err != nil {
			panic(err)
		}
	}
	stages := map[string]*fakeStage{}
	for _, name := range []string{"persist", "ack", "netio", "decode"} {
		stages[name] = &fakeStage{name: name, log: log}
		t.AddStage(name, stages[name])
	}
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
	top.AddRing("b", "b", 1, 1)
	top.AddRing("c", "c", 1, 0)
	top.AddRing("a", "a", 0, 1)
	top.AddRing("ghost", "ghost", 1, 1)
	top.AddRing("b", "b", 1, 1)
	top.AddRing("unfed", "b", 1, 1)
	top.AddRing("nil", "nilstage", 1, 1)
	top.AddEdge("a", "b", false)
	top.AddEdge("b", "c", false)
	top.AddEdge("c", "a", false)
	top.AddEdge("c", "ghost", false)
	top.AddEdge("a", "b", false)
	top.AddEdge("a", "nowhere", false)
	top.AddEdge("nilstage", "nil", true)
	for _, name := range []string{"b", "ghost", "unfed", "nil"} {
		_, err := MakeRings[int](&top, name)
		require.NoError(t, err)
	}
	_, err := MakeRings[int](&top, "c")
	require.Error(t, err, "capacity 0")
	err = top.Validate()
	require.ErrorIs(t, err, ErrInvalidTopology)
	for _, want := range []string{
		`duplicate stage name "a"`,
		`stage 5 has an empty name`,
		`stage "nilstage" is nil`,
		`stage "lonely" has no edges`,
		`ring "c": 1 lanes of capacity 0, both must be at least 1`,
		`ring "a": 0 lanes of capacity 1, both must be at least 1`,
		`ring "ghost": unknown stage "ghost"`,
		`duplicate ring "b"`,
		`ring "c" was never made (MakeRings)`,
		`ring "a" was never made (MakeRings)`,
		`ring "unfed" is fed by no stage`,
		`edge a->nowhere: unknown ring "nowhere"`,
		`duplicate edge a->b`,
		`cycle not broken by a feedback edge: a -> b -> c -> a`,
	} {
		require.Contains(t, err.Error(), want)
	}
	require.Contains(t, err.Error(), "(14 problems)")
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
	r, err := MakeRing[int](top, "decode")
	require.NoError(t, err)
	require.Equal(t, 8, r.Cap())
	again, err := MakeRings[int](top, "decode")
	require.NoError(t, err)
	require.Same(t, r, again[0], "a ring is made once and shared")
	_, err = MakeRings[string](top, "decode")
	require.Error(t, err, "made for another item type")
	_, err = MakeRings[int](top, "nowhere")
	require.Error(t, err)
	_, err = MakeRing[int](top, "ack")
	require.Error(t, err, "two lanes")
	acks, err := MakeRings[int](top, "ack")
	require.NoError(t, err)
	require.Len(t, acks, 2)
	require.True(t, r.TryPush(1) && r.TryPush(2))
	require.True(t, acks[1].TryPush(3))
	set := metrics.NewSet()
	top.Metrics(set)
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	out := buf.String()
	require.Contains(t, out, `swarmmq_ring_depth{ring="decode"} 2`)
	require.Contains(t, out, `swarmmq_ring_capacity{ring="decode"} 8`)
	require.Contains(t, out, `swarmmq_ring_depth{ring="ack",lane="0"} 0`)
	require.Contains(t, out, `swarmmq_ring_depth{ring="ack",lane="1"} 1`)
	require.Contains(t, out, `swarmmq_ring_capacity{ring="ack",lane="1"} 4`)
	require.Equal(t, 4, strings.Count(out, "swarmmq_ring_depth"), "one series per real ring")
}
