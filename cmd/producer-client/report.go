package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/cmd/internal/progress"
)

// maxReasons bounds the distinct failure reasons a run remembers.
const maxReasons = 8

// stats counts a run's messages. Safe for concurrent use: result runs on
// the client's reader goroutine.
type stats struct {
	sent   atomic.Int64
	acked  atomic.Int64 // stored, duplicates included
	dups   atomic.Int64
	failed atomic.Int64

	mu      sync.Mutex
	reasons map[string]int
}

// result records one message's outcome.
func (s *stats) result(r client.PublishResult) {
	if r.Err != nil {
		s.fail(r.Err)
		return
	}
	s.acked.Add(1)
	if r.Duplicate {
		s.dups.Add(1)
	}
}

// fail records one failed message.
func (s *stats) fail(err error) {
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reasons == nil {
		s.reasons = make(map[string]int)
	}
	msg := err.Error()
	if _, ok := s.reasons[msg]; !ok && len(s.reasons) >= maxReasons {
		msg = "(other errors)"
	}
	s.reasons[msg]++
}

// summary is the final line: counts, rate and time.
func (s *stats) summary(elapsed time.Duration) string {
	acked := s.acked.Load()
	return fmt.Sprintf("sent %d, acked %d, duplicates %d, failed %d, %s msg/s, elapsed %s",
		s.sent.Load(), acked, s.dups.Load(), s.failed.Load(),
		progress.Rate(acked, elapsed), elapsed.Round(time.Millisecond))
}

// problems explains, one line each, why messages were not acknowledged;
// nil when every sent message was.
func (s *stats) problems() []string {
	sent, acked, failed := s.sent.Load(), s.acked.Load(), s.failed.Load()
	if acked == sent {
		return nil
	}
	out := []string{fmt.Sprintf("%d of %d messages not acknowledged", sent-acked, sent)}
	s.mu.Lock()
	for msg, n := range s.reasons {
		out = append(out, fmt.Sprintf("%d× %s", n, msg))
	}
	s.mu.Unlock()
	slices.Sort(out[1:])
	if unknown := sent - acked - failed; unknown > 0 {
		out = append(out, fmt.Sprintf("%d× no answer (interrupted or timed out: stored or not)", unknown))
	}
	return out
}

// progressLine renders a one-line progress bar on a terminal (or a line per
// tick elsewhere).
type progressLine struct {
	w     io.Writer
	st    *stats
	total int
	start time.Time
	tty   bool
}

// line renders the progress at now.
func (p *progressLine) line(now time.Time) string {
	sent, acked := p.st.sent.Load(), p.st.acked.Load()
	r := progress.Rate(acked, now.Sub(p.start))
	if p.total <= 0 {
		return fmt.Sprintf("sent %d, acked %d, %s msg/s", sent, acked, r)
	}
	return fmt.Sprintf("[%s] %3d%% %d/%d acked, %s msg/s",
		progress.Bar(acked, int64(p.total)), acked*100/int64(p.total), acked, p.total, r)
}

// run redraws the line every interval until stop is closed, then clears it.
func (p *progressLine) run(stop <-chan struct{}, interval time.Duration) {
	progress.Run(p.w, p.tty, "", interval, p.line, stop)
}
