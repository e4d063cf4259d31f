package rlog

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/wal"
)

func TestDecide(t *testing.T) {
	rec := func(inc uint16) Answer { return Answer{Recorded: true, Incarnation: inc, HoldsState: true} }
	state, empty := Answer{HoldsState: true}, Answer{}
	f := func(name string, answers map[string]Answer, nodes int, all, settled bool, want uint16, ok bool) {
		t.Helper()
		got, gotOK, why, err := Decide(answers, nodes, all, settled)
		require.NoError(t, err, name)
		require.Equal(t, ok, gotOK, "%s: %s", name, why)
		if ok {
			require.Equal(t, want, got, name)
		} else {
			require.NotEmpty(t, why, name)
		}
	}
	f("alone of five", map[string]Answer{}, 5, false, false, 0, false)
	f("fresh cluster, majority", map[string]Answer{"b": empty, "c": empty}, 5, false, false, 0, true)
	f("two of five is no majority", map[string]Answer{"b": empty}, 5, false, false, 0, false)
	f("recorded, waiting for the rest", map[string]Answer{"b": rec(0), "c": state}, 5, false, false, 0, false)
	f("recorded, settled", map[string]Answer{"b": rec(0), "c": state}, 5, false, true, 1, true)
	f("recorded, all answered", map[string]Answer{"b": rec(2), "c": rec(4), "d": state, "e": empty}, 5, true, false, 5, true)
	f("running cluster never heard of it, all answered", map[string]Answer{"b": state, "c": state}, 3, true, false, 0, true)
	f("running cluster, not all answered", map[string]Answer{"b": state, "c": state}, 5, false, false, 0, false)
	f("running cluster, settled without all: join", map[string]Answer{"b": state, "c": state}, 5, false, true, 1, true)
	f("one node", map[string]Answer{}, 1, true, false, 0, true)

	_, ok, _, err := Decide(map[string]Answer{"b": rec(0xFFFF)}, 3, true, true)
	require.ErrorIs(t, err, ErrIncarnations)
	require.False(t, ok)
}

func TestIncarnationsRecordedDurably(t *testing.T) {
	fs := vfs.NewMem()
	open := func() *wal.Log {
		l, err := wal.Open(wal.Options{Dir: "data", FS: fs, Partitions: 1, MinFree: -1})
		require.NoError(t, err)
		return l
	}
	nodes := []string{"a", "b", "c"}
	l := open()
	r, err := LoadIncarnations(l, "a", nodes)
	require.NoError(t, err)
	_, ok := r.Own()
	require.False(t, ok)
	require.NoError(t, r.SetOwn(3))
	require.Error(t, r.SetOwn(4), "set once")
	newer, err := r.Record("b", 2)
	require.NoError(t, err)
	require.True(t, newer)
	newer, err = r.Record("b", 1)
	require.NoError(t, err)
	require.False(t, newer, "an older incarnation is not recorded")
	require.Equal(t, RaftID("b", 2), r.Successor(0, RaftID("b", 0)))
	require.Zero(t, r.Successor(0, RaftID("b", 2)))
	require.Zero(t, r.Successor(0, RaftID("c", 0)), "nothing recorded of c")
	require.NoError(t, l.Close())

	l = open()
	defer func() { require.NoError(t, l.Close()) }()
	r, err = LoadIncarnations(l, "a", nodes)
	require.NoError(t, err)
	inc, ok := r.Own()
	require.True(t, ok)
	require.Equal(t, uint16(3), inc)
	inc, ok = r.Recorded("b")
	require.True(t, ok)
	require.Equal(t, uint16(2), inc)
	_, ok = r.Recorded("c")
	require.False(t, ok)
}
