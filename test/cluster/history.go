package cluster

import (
	"sync"
	"time"
)

// Publish is one message the workload handed to the client library and
// what came of it.
type Publish struct {
	// Producer names the producer (one client, one producer session).
	Producer string
	// Dest is the destination it was published to.
	Dest string
	// ID is the payload id, unique over the run ("p2-1234"); the payload
	// starts with it.
	ID string
	// Sent is when the workload handed it to the client.
	Sent time.Time
	// At is when its result came back.
	At time.Time
	// Seq is the sequence number in Dest the PUBLISH_ACK gave (0 when Err
	// is set).
	Seq uint64
	// Duplicate is the PUBLISH_ACK's duplicate flag: a retry of the
	// client's was recognised and the original's seq returned.
	Duplicate bool
	// Err is the error the application saw; empty when acknowledged.
	Err string
}

// Acked reports whether the publish was acknowledged.
func (p Publish) Acked() bool { return p.Err == "" }

// Delivery is one message a consumer received.
type Delivery struct {
	Group string
	Dest  string
	Seq   uint64
	// ID is the payload id read from the payload.
	ID      string
	Attempt uint32
	// Fetched is when the FETCH that brought it was sent.
	Fetched time.Time
	// At is when the MESSAGES reply arrived.
	At time.Time
	// Confirmed is when the group's ACK of it was confirmed by ACK_OK;
	// zero if it never was.
	Confirmed time.Time
}

// ErrorEvent is an error surfaced to the application.
type ErrorEvent struct {
	At time.Time
	// Who is the worker ("producer p1", "consumer g0/chaos-1").
	Who string
	// Op is the operation: publish, fetch, ack, dial.
	Op  string
	Err string
}

// Fault is one injected fault.
type Fault struct {
	// Kind is one of the FaultKind names.
	Kind FaultKind
	// Node is the id of the node it hit.
	Node string
	// Dest is the destination whose partition's leader or follower was
	// chosen (cluster faults only).
	Dest string
	// Start is when it was injected (the signal sent).
	Start time.Time
	// Healed is when the node answered /health again (zero if it did not).
	Healed time.Time
}

// History is everything a run recorded, in the order it happened per
// worker. It is a plain value; Recorder builds one concurrently.
type History struct {
	// Start is when the workload started; ProduceEnd when the producers
	// stopped (the outage of the last fault is measured up to it).
	Start, ProduceEnd time.Time
	// Groups are the consumer groups; each consumes every destination.
	Groups     []string
	Publishes  []Publish
	Deliveries []Delivery
	Errors     []ErrorEvent
	Faults     []Fault
}

// Recorder records a History from many goroutines. It is safe for
// concurrent use.
type Recorder struct {
	mu struct {
		sync.Mutex
		h History
	}
}

// NewRecorder returns a Recorder of a run over groups starting now.
func NewRecorder(groups []string) *Recorder {
	r := &Recorder{}
	r.mu.h.Start = time.Now()
	r.mu.h.Groups = append([]string(nil), groups...)
	return r
}

// Publish records a publish result.
func (r *Recorder) Publish(p Publish) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.h.Publishes = append(r.mu.h.Publishes, p)
}

// Deliver records the deliveries of one FETCH and returns the index of the
// first, for Confirm.
func (r *Recorder) Deliver(ds []Delivery) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := len(r.mu.h.Deliveries)
	r.mu.h.Deliveries = append(r.mu.h.Deliveries, ds...)
	return first
}

// Confirm marks the n deliveries recorded from index first as confirmed at.
func (r *Recorder) Confirm(first, n int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := first; i < first+n; i++ {
		r.mu.h.Deliveries[i].Confirmed = at
	}
}

// Error records an error the application saw.
func (r *Recorder) Error(who, op string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.h.Errors = append(r.mu.h.Errors, ErrorEvent{At: time.Now(), Who: who, Op: op, Err: err.Error()})
}

// Fault records an injected fault.
func (r *Recorder) Fault(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.h.Faults = append(r.mu.h.Faults, f)
}

// ProduceEnd records that a producer stopped publishing at at; the
// History keeps the latest.
func (r *Recorder) ProduceEnd(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.mu.h.ProduceEnd) {
		r.mu.h.ProduceEnd = at
	}
}

// History returns a copy of what was recorded so far.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.mu.h
	h.Groups = append([]string(nil), h.Groups...)
	h.Publishes = append([]Publish(nil), h.Publishes...)
	h.Deliveries = append([]Delivery(nil), h.Deliveries...)
	h.Errors = append([]ErrorEvent(nil), h.Errors...)
	h.Faults = append([]Fault(nil), h.Faults...)
	return h
}
