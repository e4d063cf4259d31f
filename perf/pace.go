package perf

// Pacer decides when the next message is sent and which send time it
// carries. It belongs to one producer goroutine; it is not safe for
// concurrent use.
//
// A closed-loop pacer sends at once and stamps the actual time. An
// open-loop pacer follows a fixed schedule (start + i/rate) and stamps the
// intended time, not the actual one: when the system under test stalls the
// producer (a full window, a slow synchronous ack), the messages due in the
// meantime go out late and their latency counts from when they should
// have gone, so the stall is not hidden (no coordinated omission).
type Pacer struct {
	now      func() int64
	start    int64
	interval float64 // ns between messages; 0: closed loop
	i        int64
	sleep    func(ns int64)
	release  func() // frees the sleep's resources; nil: nothing to free
}

// ClosedLoop returns a pacer that never waits.
func ClosedLoop(c Clock) *Pacer { return &Pacer{now: c.Now} }

// OpenLoop returns a pacer sending rate messages per second from start
// (Clock time).
func OpenLoop(c Clock, start int64, rate float64) *Pacer {
	s := newSleeper()
	p := newOpenLoop(c.Now, s.sleep, start, rate)
	p.release = s.close
	return p
}

// Close releases what an open-loop pacer waits on (a timer, on Linux a
// timerfd). The pacer must not be used afterwards.
func (p *Pacer) Close() {
	if p.release != nil {
		p.release()
		p.release = nil
	}
}

// newOpenLoop is OpenLoop with the clock and the sleep injected.
func newOpenLoop(now func() int64, sleep func(int64), start int64, rate float64) *Pacer {
	return &Pacer{now: now, start: start, interval: 1e9 / rate, sleep: sleep}
}

// Next waits until the next message is due and returns its send time, or
// returns false without waiting if that time is not before end.
func (p *Pacer) Next(end int64) (int64, bool) {
	if p.interval == 0 {
		now := p.now()
		return now, now < end
	}
	t := p.start + int64(float64(p.i)*p.interval)
	if t >= end {
		return 0, false
	}
	p.i++
	// Never spin: on 2 cores a generator yielding in a loop until the
	// next message is due (it did below 20 µs, which at 100 k msg/s is
	// always) burnt a whole core the node and the consumer needed. A sleep
	// wakes ~50-80 µs late (BenchmarkSleeperOvershoot); the messages due
	// by then go out back to back, each stamped with its own due time, so
	// the lateness is counted in their latency, never hidden.
	for {
		d := t - p.now()
		if d <= 0 {
			return t, true
		}
		p.sleep(max(d, minSleep))
	}
}

// minSleep is the shortest sleep. Every wake-up costs the generator tens
// of µs of CPU across the timer, the poller and the threads it wakes; at
// 100 k msg/s a sleep per message or two took ~0.75 of a core in system
// time. Sleeping at least this long sends the messages due meanwhile in
// one burst (each still stamped with its own due time).
const minSleep = 100_000
