package perf

import (
	"math"
	"testing"
)

// fakeTime is a clock that only sleeping (or the test) moves.
type fakeTime struct {
	t         int64
	overshoot int64 // added to every sleep
	sleeps    int
}

func (f *fakeTime) now() int64 { return f.t }

func (f *fakeTime) sleep(ns int64) {
	f.sleeps++
	f.t += ns + f.overshoot
}

func TestOpenLoopFollowsTheSchedule(t *testing.T) {
	ft := &fakeTime{overshoot: 30_000}
	p := newOpenLoop(ft.now, ft.sleep, 1_000_000, 10_000) // 10k/s from 1 ms: every 100 µs
	var got []int64
	for {
		s, ok := p.Next(2_000_000)
		if !ok {
			break
		}
		got = append(got, s)
		if ft.now() < s {
			t.Fatalf("message due at %d sent early, at %d", s, ft.now())
		}
	}
	if len(got) != 10 {
		t.Fatalf("sent %d messages in 1 ms at 10k/s, want 10", len(got))
	}
	for i, s := range got {
		if want := int64(1_000_000 + i*100_000); s != want {
			t.Fatalf("message %d stamped %d, want its intended time %d", i, s, want)
		}
	}
}

// A stall (the system under test blocking the producer) must not thin out
// the schedule: the messages due meanwhile go at once, each stamped with
// the time it was due, so their latency includes the stall.
func TestOpenLoopDoesNotOmitDuringStalls(t *testing.T) {
	ft := &fakeTime{}
	p := newOpenLoop(ft.now, ft.sleep, 0, 1_000) // every 1 ms
	if s, _ := p.Next(math.MaxInt64); s != 0 {
		t.Fatalf("first stamp %d", s)
	}
	ft.t = 10_500_000 // the publish blocked for 10.5 ms
	sleeps := ft.sleeps
	for i := int64(1); i <= 10; i++ {
		s, ok := p.Next(math.MaxInt64)
		if !ok || s != i*1_000_000 {
			t.Fatalf("after the stall, message %d stamped %d, want %d", i, s, i*1_000_000)
		}
	}
	if ft.sleeps != sleeps {
		t.Fatalf("the pacer slept while behind schedule")
	}
	if s, _ := p.Next(math.MaxInt64); s != 11_000_000 || ft.now() < s {
		t.Fatalf("back on schedule: stamp %d at %d", s, ft.now())
	}
}

func TestOpenLoopSpreadsRateOverProducers(t *testing.T) {
	r := &runner{cfg: Config{Producers: 4}, clock: NewClock()}
	pace := r.openLoop(0, 4_000) // 1k/s each, interleaved every 250 µs
	for i := range 4 {
		p := pace(i)
		p.sleep = func(int64) {}
		p.now = func() int64 { return math.MaxInt64 / 2 }
		a, _ := p.Next(math.MaxInt64)
		b, _ := p.Next(math.MaxInt64)
		if a != int64(i)*250_000 || b-a != 1_000_000 {
			t.Fatalf("producer %d: stamps %d, %d", i, a, b)
		}
	}
}

func TestClosedLoopStampsNow(t *testing.T) {
	c := NewClock()
	p := ClosedLoop(c)
	before := c.Now()
	s, ok := p.Next(math.MaxInt64)
	if !ok || s < before || s > c.Now() {
		t.Fatalf("closed loop stamp %d not the current time", s)
	}
	if _, ok := p.Next(0); ok {
		t.Fatal("closed loop sent past its end")
	}
}

func TestStamp(t *testing.T) {
	p := NewPayload(16)
	PutStamp(p, 123456789)
	if Stamp(p) != 123456789 || Stamp(p[:4]) != -1 {
		t.Fatal("stamp does not round-trip")
	}
}
