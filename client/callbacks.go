package client

import (
	"bytes"
	"runtime"
	"strconv"
)

// Publisher callbacks are bounded (backpressure, not drops): Publish
// waits while a whole Window of results waits for its callbacks. A
// callback that publishes must not wait so, or it would wait for itself:
// the Client remembers which goroutines run callbacks (by goroutine id,
// read from the stack header once per run of a callback goroutine, and
// again only by a Publish that found the queue full, so the publish path
// never pays for it).

// callbackGoroutine records the calling goroutine as a callback runner of
// c and returns the function that forgets it.
func (c *Client) callbackGoroutine() func() {
	id := goid()
	c.cbg.Store(id, struct{}{})
	return func() { c.cbg.Delete(id) }
}

// onCallbackGoroutine reports whether the caller runs callbacks of one of
// c's publishers.
func (c *Client) onCallbackGoroutine() bool {
	_, ok := c.cbg.Load(goid())
	return ok
}

// goid returns the calling goroutine's id, from the first line of its
// stack trace ("goroutine 123 [running]:").
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("BUG: client: cannot read the goroutine id from " + strconv.Quote(string(buf[:])))
	}
	return id
}

// cbRoomLocked returns a channel closed when the callback goroutine next
// takes the queue.
func (p *Publisher) cbRoomLocked() <-chan struct{} {
	if p.mu.cbRoom == nil {
		p.mu.cbRoom = make(chan struct{})
	}
	return p.mu.cbRoom
}

// cbRoomWakeLocked wakes the publishers waiting for room in the queue.
func (p *Publisher) cbRoomWakeLocked() {
	if p.mu.cbRoom != nil {
		close(p.mu.cbRoom)
		p.mu.cbRoom = nil
	}
}
