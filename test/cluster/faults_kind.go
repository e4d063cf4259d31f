package cluster

// FaultKind names a fault the harness injects.
type FaultKind string

// The faults a Node takes.
const (
	// FaultKill is kill -9 of the node's process group, then a restart on
	// the same data directory.
	FaultKill FaultKind = "kill9"
	// FaultPause is SIGSTOP, a pause of Options.Pause, then SIGCONT.
	FaultPause FaultKind = "pause"
	// FaultRestart is SIGTERM, a clean exit, then a restart on the same
	// data directory.
	FaultRestart FaultKind = "restart"
	// FaultWipe is kill -9, the data directory removed, then a restart on
	// the empty directory. On a single node it loses everything: it is for
	// clusters, where the node catches up from its peers.
	FaultWipe FaultKind = "wipe"
)
