package perf

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// sleeper makes an open-loop pacer's goroutine wait without holding on to
// a P (a Go scheduler slot) and without Go timers' idle resolution.
//
// The pacer used to block its thread in nanosleep. A goroutine in a system
// call keeps its P until sysmon retakes it, which it does only for a call
// it sees in progress twice (tens of µs when the runtime is busy, up to
// 10 ms when it has been quiet): a pacer that sleeps 40 µs between messages
// held one of the process's Ps most of the time. With --embedded on 2
// cores that left the node and the client one P, and none at all while
// the node's persist goroutine sat in fsync.
//
// A Go timer parks the goroutine and frees the P, and every P checks the
// timers whenever it schedules, so a busy runtime wakes it on time. An idle
// one does not: it blocks in epoll_wait, whose timeout has millisecond
// resolution (the runtime rounds waits below 1 ms up to 1 ms), which would
// add up to a millisecond of the generator's own making to every
// open-loop latency. So each sleep also arms a timerfd registered with the
// runtime's poller, due just after the Go timer: its expiry ends the
// epoll_wait, and the P that wakes finds the Go timer due.
//
// A sleeper belongs to one goroutine.
type sleeper struct {
	timer *time.Timer
	fd    uintptr  // the timerfd; valid while f is not nil
	f     *os.File // the timerfd, registered with the poller; nil if none
	buf   [8]byte
}

// Linux timerfd constants (not in package syscall).
const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

// itimerspec is struct itimerspec.
type itimerspec struct {
	interval, value syscall.Timespec
}

// newSleeper returns a sleeper; without a timerfd (an old kernel, a
// sandbox) it still works, with a Go timer's resolution.
func newSleeper() *sleeper {
	s := &sleeper{timer: time.NewTimer(time.Hour)}
	s.timer.Stop()
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno == 0 {
		// A non-blocking descriptor: os.NewFile adds it to the poller.
		s.fd, s.f = fd, os.NewFile(fd, "perf-pacer-timerfd")
	}
	return s
}

// sleep waits about ns nanoseconds.
func (s *sleeper) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	// The Go timer first: the timerfd, armed after it with the same
	// delay, expires no earlier, so the P its expiry wakes finds the Go
	// timer due rather than going back to sleep for a millisecond.
	s.timer.Reset(time.Duration(ns))
	if s.f != nil {
		_, _ = syscall.Read(int(s.fd), s.buf[:]) // clear an earlier expiry (EAGAIN if none)
		spec := itimerspec{value: syscall.NsecToTimespec(ns)}
		_, _, _ = syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, s.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	}
	<-s.timer.C
}

// precise reports whether sleeps below a millisecond wake on time when the
// runtime is idle (there is a timerfd).
func (s *sleeper) precise() bool { return s.f != nil }

// close releases the timerfd.
func (s *sleeper) close() {
	s.timer.Stop()
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
}
