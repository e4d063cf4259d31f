package queue

// timer is a deadline of one in-flight seq.
type timer struct {
	at  int64
	seq uint64
}

// timers orders the deadlines of a group's in-flight deliveries. Deadlines
// set to now+AckTimeout arrive in time order and go to a FIFO; the rest
// (NACK delays, a clock that stepped back) go to a binary min-heap. Stale
// entries are left in place and skipped by the reader (group.nextTimer).
// Not safe for concurrent use.
type timers struct {
	fifo ring[timer]
	heap []timer
}

// add schedules t.
func (ts *timers) add(at int64, seq uint64) {
	t := timer{at: at, seq: seq}
	if ts.fifo.len() == 0 || at >= ts.fifo.back().at {
		ts.fifo.push(t)
		return
	}
	ts.heap = append(ts.heap, t)
	for i := len(ts.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if ts.heap[p].at <= ts.heap[i].at {
			break
		}
		ts.heap[p], ts.heap[i] = ts.heap[i], ts.heap[p]
		i = p
	}
}

// fromHeap reports whether the earliest timer is the heap's top.
func (ts *timers) fromHeap() bool {
	if len(ts.heap) == 0 {
		return false
	}
	return ts.fifo.len() == 0 || ts.heap[0].at < ts.fifo.at(0).at
}

// peek returns the earliest timer.
func (ts *timers) peek() (timer, bool) {
	switch {
	case ts.fromHeap():
		return ts.heap[0], true
	case ts.fifo.len() > 0:
		return *ts.fifo.at(0), true
	}
	return timer{}, false
}

// pop removes the earliest timer; there must be one.
func (ts *timers) pop() {
	if !ts.fromHeap() {
		ts.fifo.popFront()
		return
	}
	n := len(ts.heap) - 1
	ts.heap[0] = ts.heap[n]
	ts.heap = ts.heap[:n]
	for i := 0; ; {
		l, s := 2*i+1, i
		if l < n && ts.heap[l].at < ts.heap[s].at {
			s = l
		}
		if r := l + 1; r < n && ts.heap[r].at < ts.heap[s].at {
			s = r
		}
		if s == i {
			return
		}
		ts.heap[i], ts.heap[s] = ts.heap[s], ts.heap[i]
		i = s
	}
}
