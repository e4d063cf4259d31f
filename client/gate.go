package client

// gate counts units in use against a limit (credits of a connection,
// messages of a publisher's window) and lets goroutines wait for a unit to
// free. It is not safe for concurrent use: its owner's mutex guards it, so
// every method expects that mutex held.
//
// A waiter takes the channel from waitLocked, drops the mutex, and blocks
// on the channel (and its context); any release closes the channel, and the
// waiter retries. Spurious wake-ups are fine, lost ones impossible.
type gate struct {
	used  int
	limit int
	ch    chan struct{} // closed and cleared on release; nil when nobody waits
}

// freeLocked returns the units left, which may be negative after the
// limit shrank.
func (g *gate) freeLocked() int {
	return g.limit - g.used
}

// tryLocked takes one unit if there is one.
func (g *gate) tryLocked() bool {
	if g.used >= g.limit {
		return false
	}
	g.used++
	return true
}

// waitLocked returns a channel that is closed at the next release.
func (g *gate) waitLocked() <-chan struct{} {
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

// releaseLocked gives n units back and wakes the waiters.
func (g *gate) releaseLocked(n int) {
	g.used -= n
	if g.used < 0 {
		panic("BUG: client: gate released more than taken")
	}
	g.wakeLocked()
}

// wakeLocked wakes the waiters, for example after the limit grew.
func (g *gate) wakeLocked() {
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}
