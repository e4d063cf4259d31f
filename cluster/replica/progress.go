package replica

// Progress is how far a partition's group has come on this node: the
// commit index it knows and the index it has applied (handed to
// StateMachine.Apply or restored). A plain value.
type Progress struct {
	Commit, Applied uint64
}

// Progress returns partition p's progress as of the loop's last iteration
// that handled it. Safe for concurrent use.
func (e *Engine) Progress(p uint32) (Progress, error) {
	g := e.groups[p]
	if g == nil {
		return Progress{}, ErrNoPartition
	}
	return Progress{Commit: g.progress.commit.Load(), Applied: g.progress.applied.Load()}, nil
}
