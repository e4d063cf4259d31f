//go:build !linux

package perf

import "time"

// sleeper makes an open-loop pacer's goroutine wait on a Go timer (see
// sleep_linux.go for why not a blocking system call). It belongs to one
// goroutine.
type sleeper struct{ timer *time.Timer }

// newSleeper returns a sleeper.
func newSleeper() *sleeper {
	s := &sleeper{timer: time.NewTimer(time.Hour)}
	s.timer.Stop()
	return s
}

// sleep waits about ns nanoseconds.
func (s *sleeper) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	s.timer.Reset(time.Duration(ns))
	<-s.timer.C
}

// precise reports whether sleeps below a millisecond wake on time when the
// runtime is idle: not with a Go timer alone.
func (s *sleeper) precise() bool { return false }

func (s *sleeper) close() { s.timer.Stop() }
