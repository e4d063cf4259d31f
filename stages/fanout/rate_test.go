package fanout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// at is t seconds after a fixed origin, in unix nanoseconds.
func at(t float64) int64 {
	const origin = int64(1_800_000_000) * int64(time.Second)
	return origin + int64(t*float64(time.Second))
}

// TestPubRateWindows: the rates sum the last 10 and 60 per-second slots
// and divide by the time they cover; totals never decrease.
func TestPubRateWindows(t *testing.T) {
	start := at(-1000) // the stage started long ago
	var r pubRate
	require.Equal(t, Publishes{}, r.publishes(at(0), start), "nothing counted")

	// 100 messages (1000 bytes) in each of 60 seconds, at 0.5s into each.
	for s := 0; s < 60; s++ {
		r.add(at(float64(s)+0.5), 100, 1000)
	}
	p := r.publishes(at(59.5), start)
	require.Equal(t, uint64(6000), p.Msgs)
	require.Equal(t, uint64(60000), p.Bytes)
	// 10 slots (seconds 50..59) over 9.5 s; 60 slots over 59.5 s.
	require.InDelta(t, 1000/9.5, p.MsgRate10s, 1e-9)
	require.InDelta(t, 10000/9.5, p.ByteRate10s, 1e-9)
	require.InDelta(t, 6000/59.5, p.MsgRate1m, 1e-9)
	require.InDelta(t, 60000/59.5, p.ByteRate1m, 1e-9)

	// 20 s of silence: the 10 s rate is 0, the minute keeps seconds 20..59.
	p = r.publishes(at(79.5), start)
	require.Zero(t, p.MsgRate10s)
	require.InDelta(t, 4000/59.5, p.MsgRate1m, 1e-9)
	require.Equal(t, uint64(6000), p.Msgs)

	// A whole minute idle drops the ring; the totals stay.
	p = r.publishes(at(200), start)
	require.Equal(t, Publishes{Msgs: 6000, Bytes: 60000}, p)
	require.Nil(t, r.slots)

	// Counting again starts a new ring.
	r.add(at(300.25), 5, 50)
	p = r.publishes(at(300.75), start)
	require.Equal(t, uint64(6005), p.Msgs)
	require.InDelta(t, 5/9.75, p.MsgRate10s, 1e-9)
	require.InDelta(t, 5/59.75, p.MsgRate1m, 1e-9)
}

// TestPubRateSinceStart: shortly after the stage started the rate covers
// only the time since (at least a second), not the empty window before.
func TestPubRateSinceStart(t *testing.T) {
	var r pubRate
	start := at(0)
	r.add(at(0.1), 10, 10)
	p := r.publishes(at(0.2), start)
	require.InDelta(t, 10.0, p.MsgRate10s, 1e-9, "at least a second")
	require.InDelta(t, 10.0, p.MsgRate1m, 1e-9)

	r.add(at(3.5), 30, 30)
	p = r.publishes(at(4), start)
	require.InDelta(t, 40/4.0, p.MsgRate10s, 1e-9)
	require.InDelta(t, 40/4.0, p.MsgRate1m, 1e-9)
}

// TestPubRateClockBack: a clock that steps back counts in the newest slot
// and never loses what was counted.
func TestPubRateClockBack(t *testing.T) {
	var r pubRate
	start := at(-100)
	r.add(at(10.5), 1, 1)
	r.add(at(5), 2, 2)
	p := r.publishes(at(10.9), start)
	require.Equal(t, uint64(3), p.Msgs)
	require.InDelta(t, 3/9.9, p.MsgRate10s, 1e-9)
}

// TestPubRateNegativeSeconds: a clock before 1970 (a test's) indexes the
// ring like any other.
func TestPubRateNegativeSeconds(t *testing.T) {
	var r pubRate
	r.add(-int64(5*time.Second), 7, 7)
	p := r.publishes(-int64(4*time.Second), -int64(100*time.Second))
	require.Equal(t, uint64(7), p.Msgs)
	require.InDelta(t, 7/9.0, p.MsgRate10s, 1e-9) // seconds -13..-4, from -13 s
}
