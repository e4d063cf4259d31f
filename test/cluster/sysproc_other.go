//go:build !linux

package cluster

import "syscall"

// sysProcAttr puts a node in a process group of its own, so that a signal
// to the group reaches whatever it starts.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
