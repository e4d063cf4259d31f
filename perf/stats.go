package perf

import (
	"sync"

	"github.com/swarmmq/swarmmq/perf/hist"
)

// stats collects the completions of one measurement (a run or a curve
// step): a latency histogram, counts, the last completion time, and, in
// open loop, how late the generator sent. It counts either the messages
// sent at or after from (whenever they complete), or, with until set, the
// completions between from and until (whenever the message was sent): the
// steady state of a closed loop, where the pipeline is always full. It is
// safe for concurrent use.
type stats struct {
	from, until int64 // Clock times; immutable

	mu struct {
		sync.Mutex
		lat  hist.Histogram
		lag  hist.Histogram
		n    int64
		errs int64
		last int64 // Clock time of the last counted completion
	}
}

// newStats counts the messages sent at or after from.
func newStats(from int64) *stats { return &stats{from: from} }

// newWindowStats counts the completions in [from, until].
func newWindowStats(from, until int64) *stats { return &stats{from: from, until: until} }

// counts reports whether the completion at now of a message sent at sent
// is measured.
func (s *stats) counts(sent, now int64) bool {
	if s.until > 0 {
		return now >= s.from && now <= s.until
	}
	return sent >= s.from
}

// done counts the completion at now of a message sent at sent, recording
// now − sent as its latency unless it failed.
func (s *stats) done(sent, now int64, err error) {
	if !s.counts(sent, now) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.mu.errs++
		return
	}
	s.mu.n++
	s.mu.lat.Record(now - sent)
	s.mu.last = max(s.mu.last, now)
}

// count counts a completion at now without a latency.
func (s *stats) count(now int64) {
	s.mu.Lock()
	s.mu.n++
	s.mu.last = max(s.mu.last, now)
	s.mu.Unlock()
}

// latency records a latency that is not tied to a message (an ack
// confirmation).
func (s *stats) latency(ns int64) {
	s.mu.Lock()
	s.mu.lat.Record(ns)
	s.mu.Unlock()
}

// lagged records that a message due at intended went out at actual.
func (s *stats) lagged(intended, actual int64) {
	s.mu.Lock()
	s.mu.lag.Record(actual - intended)
	s.mu.Unlock()
}

// snapshot is what stats collected, copied out.
type snapshot struct {
	n, errs int64
	last    int64 // Clock time of the last counted completion
	window  int64 // ns of a completion window; 0 when counting by send time
	lat     *Latency
	lag     *Latency
}

func (s *stats) snapshot(what string) snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := snapshot{n: s.mu.n, errs: s.mu.errs, last: s.mu.last,
		lat: Summarize(what, &s.mu.lat), lag: Summarize(LatLag, &s.mu.lag)}
	if s.until > 0 {
		m.window = s.until - s.from
	}
	return m
}
