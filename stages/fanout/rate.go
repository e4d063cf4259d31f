package fanout

import "time"

// rateSlots is the length of a pubRate's window: one slot per second, so
// the longest rate it gives is over the last minute.
const rateSlots = 60

// Windows of the publish rates (Publishes).
const (
	rateShort = 10 // seconds
	rateLong  = rateSlots
)

// rateSlot is what one second counted.
type rateSlot struct{ msgs, bytes uint64 }

// pubRate counts what one destination stored and turns it into rates: a
// ring of per-second slots, the newest being the second of the last add or
// read, is summed over the last 10 or 60 seconds when asked. Adding is two
// additions per batch of messages; the ring is dropped while the
// destination sees no publish for a whole window (idle), so a destination
// published to once costs a few words. Times are unix nanoseconds from
// the stage's clock (Deps.Now): nothing here reads a clock. Not safe for
// concurrent use: the owning worker's goroutine uses it.
type pubRate struct {
	msgs, bytes uint64 // since the node started
	sec         int64  // the second of the newest slot
	slots       *[rateSlots]rateSlot
}

// add counts msgs messages of bytes bytes stored at now.
func (r *pubRate) add(now int64, msgs, bytes uint64) {
	r.advance(now)
	if r.slots == nil {
		r.slots, r.sec = new([rateSlots]rateSlot), now/int64(time.Second)
	}
	s := &r.slots[slot(r.sec)]
	s.msgs += msgs
	s.bytes += bytes
	r.msgs += msgs
	r.bytes += bytes
}

// slot is the index of second sec's slot (sec may be negative: a test's
// clock).
func slot(sec int64) int64 { return (sec%rateSlots + rateSlots) % rateSlots }

// advance moves the newest slot to now's second, emptying the slots of the
// seconds in between. A clock that steps back leaves the ring alone: what
// is added then counts in the newest slot.
func (r *pubRate) advance(now int64) {
	sec := now / int64(time.Second)
	if r.slots == nil || sec <= r.sec {
		return
	}
	if sec-r.sec >= rateSlots {
		r.slots = nil // idle for a whole window: every slot is 0
		return
	}
	for s := r.sec + 1; s <= sec; s++ {
		r.slots[slot(s)] = rateSlot{}
	}
	r.sec = sec
}

// rate returns the messages and bytes per second stored over the last
// window seconds (at most rateSlots) before now: the slots of those
// seconds, the newest one partly elapsed, divided by the time from the
// start of the oldest until now, or from since (when the stage started) if
// that is later, and at least a second.
func (r *pubRate) rate(now, since int64, window int) (msgs, bytes float64) {
	r.advance(now)
	if r.slots == nil {
		return 0, 0
	}
	var sum rateSlot
	for s := r.sec - int64(window) + 1; s <= r.sec; s++ {
		sum.msgs += r.slots[slot(s)].msgs
		sum.bytes += r.slots[slot(s)].bytes
	}
	from := max((r.sec-int64(window)+1)*int64(time.Second), since)
	span := max(time.Duration(now-from), time.Second).Seconds()
	return float64(sum.msgs) / span, float64(sum.bytes) / span
}

// Publishes is what this node stored for one destination as the leader
// of its partition (a PUBLISH it took, directly or forwarded, and
// committed): counts since the node started (or since the destination was
// deleted), and rates over the last 10 seconds and the last minute. A
// plain value.
type Publishes struct {
	Msgs, Bytes uint64 // Bytes: the messages' wire size, header and payload
	// MsgRate10s, MsgRate1m are messages per second, ByteRate10s,
	// ByteRate1m bytes per second.
	MsgRate10s, MsgRate1m   float64
	ByteRate10s, ByteRate1m float64
}

// publishes reads r at now; since is when the stage started.
func (r *pubRate) publishes(now, since int64) Publishes {
	p := Publishes{Msgs: r.msgs, Bytes: r.bytes}
	p.MsgRate10s, p.ByteRate10s = r.rate(now, since, rateShort)
	p.MsgRate1m, p.ByteRate1m = r.rate(now, since, rateLong)
	return p
}
