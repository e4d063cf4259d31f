package perf

import (
	"errors"
	"syscall"
)

// sleepNs blocks the calling thread for about ns nanoseconds. A nanosleep
// system call overshoots by tens of microseconds where time.Sleep, on an
// idle Go runtime, rounds waits below a millisecond up to one (epoll's
// timeout resolution), which would add a millisecond of the load
// generator's own making to open-loop latencies.
func sleepNs(ns int64) {
	ts := syscall.NsecToTimespec(ns)
	for {
		if err := syscall.Nanosleep(&ts, &ts); !errors.Is(err, syscall.EINTR) {
			return
		}
	}
}
