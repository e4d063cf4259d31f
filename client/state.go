package client

import (
	"sync"
)

// ConnState is what happened to one of the Client's connections, in a
// ConnEvent.
type ConnState uint8

// The connection states a ConnEvent reports.
const (
	// StateConnected: a connection to a node the Client had not lost a
	// connection to before was made (the first one by Dial; in a cluster,
	// one to each leader the Client needs).
	StateConnected ConnState = iota + 1
	// StateDisconnected: a connection was lost; ConnEvent.Err says why.
	// The Client reconnects (unless Options.NoReconnect) and its requests
	// wait for that, within their timeouts.
	StateDisconnected
	// StateReconnected: a connection was made to a node the Client had
	// lost a connection to.
	StateReconnected
	// StateClosed: the Client stopped, for good: Close was called
	// (ConnEvent.Err is nil), or it gave up reconnecting (Options.NoReconnect,
	// Options.MaxReconnects; Err says why). It is the last event.
	StateClosed
)

// String returns the state's name in lower case ("connected", …).
func (s ConnState) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateReconnected:
		return "reconnected"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// ConnEvent is a change of a connection's state, passed to
// Options.OnConnState. It is a plain value.
type ConnEvent struct {
	State ConnState
	// Addr is the node's address (empty for StateClosed).
	Addr string
	// Err is why the connection was lost (StateDisconnected) or why the
	// Client gave up (StateClosed after giving up); nil otherwise.
	Err error
	// Dropped counts the events before this one that were not delivered
	// because maxQueuedEvents were already waiting for a slow handler.
	Dropped int
}

// maxQueuedEvents bounds the connection events waiting for the event
// goroutine. Events come from the router and the dialling goroutines,
// which must never wait for the application's handler; once this many
// wait, further ones are dropped (and counted in the next event
// delivered), except StateClosed, which is always delivered.
const maxQueuedEvents = 256

// events delivers connection events to Options.OnConnState and the
// connection hooks, in order, on a goroutine of its own that ends after
// StateClosed. It is safe for concurrent use.
type events struct {
	handler func(ConnEvent)
	hooks   *hooks
	wake    chan struct{} // one slot
	done    chan struct{} // closed when the goroutine ends

	mu struct {
		sync.Mutex
		q       []ConnEvent
		dropped int
		closed  bool // StateClosed is queued: nothing comes after it
	}
}

// newEvents returns the event queue, or nil when nobody listens.
func newEvents(handler func(ConnEvent), h *hooks) *events {
	if handler == nil && !h.conn() {
		return nil
	}
	return &events{handler: handler, hooks: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// emit queues ev without waiting. Safe to call holding Client.mu.
func (e *events) emit(ev ConnEvent) {
	if e == nil {
		return
	}
	e.mu.Lock()
	switch {
	case e.mu.closed:
	case ev.State != StateClosed && len(e.mu.q) >= maxQueuedEvents:
		e.mu.dropped++
	default:
		ev.Dropped, e.mu.dropped = e.mu.dropped, 0
		e.mu.closed = ev.State == StateClosed
		e.mu.q = append(e.mu.q, ev)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run delivers the queued events until it has delivered StateClosed.
func (e *events) run() {
	defer close(e.done)
	var q []ConnEvent
	for {
		<-e.wake
		e.mu.Lock()
		q, e.mu.q = e.mu.q, q[:0]
		e.mu.Unlock()
		for i, ev := range q {
			e.deliver(ev)
			q[i] = ConnEvent{}
			if ev.State == StateClosed {
				return
			}
		}
	}
}

func (e *events) deliver(ev ConnEvent) {
	if e.handler != nil {
		e.handler(ev)
	}
	e.hooks.onConn(ev)
}

// wait waits for the event goroutine to end (after StateClosed).
func (e *events) wait() {
	if e != nil {
		<-e.done
	}
}
