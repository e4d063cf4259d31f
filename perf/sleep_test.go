package perf

import (
	"slices"
	"testing"
	"time"
)

func TestSleeperWaitsAtLeastTheDelay(t *testing.T) {
	s := newSleeper()
	defer s.close()
	for _, d := range []time.Duration{0, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		start := time.Now()
		s.sleep(int64(d))
		if got := time.Since(start); got < d {
			t.Fatalf("sleep(%v) returned after %v", d, got)
		}
	}
}

// An idle Go runtime wakes a plain Go timer due in less than a millisecond
// only after a millisecond (its poller's timeout resolution); an open-loop
// generator sleeping that way would add up to 1 ms to every latency it
// reports. The sleeper must wake well before that.
func TestSleeperWakesWithinMicrosecondsWhenIdle(t *testing.T) {
	s := newSleeper()
	defer s.close()
	if !s.precise() {
		t.Skip("no sub-millisecond sleeper on this platform")
	}
	const d = 100 * time.Microsecond
	over := make([]time.Duration, 0, 41)
	for range cap(over) {
		start := time.Now()
		s.sleep(int64(d))
		over = append(over, time.Since(start)-d)
	}
	slices.Sort(over)
	if med := over[len(over)/2]; med > 500*time.Microsecond {
		t.Fatalf("median overshoot of a %v sleep is %v, want well under a millisecond (all: %v)", d, med, over)
	}
}

func TestPacerCloseIsIdempotent(t *testing.T) {
	p := OpenLoop(NewClock(), 0, 1000)
	if _, ok := p.Next(int64(time.Second)); !ok {
		t.Fatal("first message not due within a second")
	}
	p.Close()
	p.Close()
	ClosedLoop(NewClock()).Close()
}
