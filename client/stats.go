package client

import (
	"sync/atomic"
	"time"
)

// Stats are the Client's counters since Dial, from Client.Stats. Counts
// of messages include both publish paths (Publisher and Client.Publish
// with its variants). A plain value.
type Stats struct {
	// Sent counts messages handed to the Client for publishing (accepted
	// by Publish, not refused at once).
	Sent uint64
	// Acked counts messages the node confirmed stored, Duplicates
	// included; Failed those that ended with an error (PublishResult.Err).
	Acked, Failed uint64
	// Duplicates counts acked messages the node had already stored (a
	// retry of one whose acknowledgement was lost).
	Duplicates uint64
	// Retried counts messages written again after a lost connection or a
	// NOT_LEADER answer (the same bytes, the same ids).
	Retried uint64
	// Reconnects counts connections made to a node the Client had lost a
	// connection to (StateReconnected).
	Reconnects uint64
	// InFlight and InFlightBytes are the messages (and their bytes, as
	// encoded) accepted and not yet resolved.
	InFlight, InFlightBytes int64
	// Delivered counts the deliveries Fetch and Consume received; Settled
	// those the node confirmed acked, nacked or terminated.
	Delivered, Settled uint64
}

// counters are the Client's Stats, updated with atomics only, never per
// message on a Publisher's path: a Publisher counts its messages in flight
// under the lock it holds anyway (Publisher.mu) and adds its results here
// once per batch. Each field is written by many goroutines.
type counters struct {
	inflight      atomic.Int64 // of Client.Publish and its variants; Publishers keep their own
	inflightBytes atomic.Int64
	acked         atomic.Uint64
	failed        atomic.Uint64
	duplicates    atomic.Uint64
	retried       atomic.Uint64
	reconnects    atomic.Uint64
	delivered     atomic.Uint64
	settled       atomic.Uint64
}

// Stats returns the Client's counters. It is cheap (atomic loads, and a
// short lock of each open Publisher) and safe to call from any goroutine,
// for example by a metrics collector on every scrape; the fields are read
// one by one, so a snapshot taken under load may be off by the messages
// moving meanwhile. A Publisher closed before its messages were resolved
// no longer counts them in flight.
func (c *Client) Stats() Stats {
	s := &c.stats
	// Acked and failed before in flight: a message resolved in between is
	// then counted in neither rather than twice.
	acked, failed := s.acked.Load(), s.failed.Load()
	st := Stats{
		Acked: acked, Failed: failed, Duplicates: s.duplicates.Load(),
		Retried: s.retried.Load(), Reconnects: s.reconnects.Load(),
		InFlight: s.inflight.Load(), InFlightBytes: s.inflightBytes.Load(),
		Delivered: s.delivered.Load(), Settled: s.settled.Load(),
	}
	c.mu.Lock()
	pubs := c.publishersLocked()
	c.mu.Unlock()
	for _, p := range pubs {
		p.mu.Lock()
		st.InFlight += int64(p.mu.inflight)
		st.InFlightBytes += int64(p.mu.inflightBytes)
		p.mu.Unlock()
	}
	st.Sent = acked + failed + uint64(max(st.InFlight, 0))
	return st
}

// resolved counts messages resolved: ok stored (dup of them duplicates),
// failed not.
func (s *counters) resolved(ok, failed, dup int) {
	if ok > 0 {
		s.acked.Add(uint64(ok))
	}
	if dup > 0 {
		s.duplicates.Add(uint64(dup))
	}
	if failed > 0 {
		s.failed.Add(uint64(failed))
	}
}

// fetched counts a Fetch's n deliveries and calls the fetch hooks.
func (c *Client) fetched(dest, group string, n int, start time.Time, err error) {
	if err == nil {
		c.stats.delivered.Add(uint64(n))
	}
	if c.hooks != nil {
		c.hooks.onFetch(dest, group, n, c.now().Sub(start), err)
	}
}

// settled counts n deliveries settled (when err is nil) and calls the
// settle hooks.
func (c *Client) settled(dest, group string, kind SettleKind, n int, err error) {
	if n == 0 {
		return
	}
	if err == nil {
		c.stats.settled.Add(uint64(n))
	}
	if c.hooks != nil {
		c.hooks.onSettle(dest, group, kind, n, err)
	}
}

// sentSync counts the messages of a synchronous publish's frames to dest
// as accepted and returns how many and their bytes, for resolvedSync.
func (c *Client) sentSync(dest string, calls []*pubCall) (n, size int) {
	overhead := publishOverhead(dest)
	for _, pc := range calls {
		pc.msgs = int32(len(pc.idx))
		n += len(pc.idx)
		size += len(pc.buf) - overhead
	}
	if n > 0 {
		c.stats.inflight.Add(int64(n))
		c.stats.inflightBytes.Add(int64(size))
	}
	return n, size
}

// resolvedSync counts the results of the n messages (size bytes) that a
// synchronous publish to dest sent in calls, and calls the publish hooks
// with each.
func (c *Client) resolvedSync(dest string, calls []*pubCall, results []PublishResult, n, size int, start time.Time) {
	if n == 0 {
		return
	}
	ok, dup := 0, 0
	latency := c.now().Sub(start)
	for _, pc := range calls {
		for _, i := range pc.idx {
			r := results[i]
			if r.Err == nil {
				ok++
				if r.Duplicate {
					dup++
				}
			}
			if c.hooks != nil {
				c.hooks.onPublishAck(dest, r, latency)
			}
		}
	}
	c.stats.inflight.Add(-int64(n))
	c.stats.inflightBytes.Add(-int64(size))
	c.stats.resolved(ok, n-ok, dup)
}
