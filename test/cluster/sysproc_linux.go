package cluster

import "syscall"

// sysProcAttr puts a node in a process group of its own, so that a signal
// to the group reaches whatever it starts, and has the kernel kill it if
// the thread that started it dies (the test binary killed by a timeout,
// say), so that no node outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
