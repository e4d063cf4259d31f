package queue

import "time"

// DestStats describes one destination for metrics. A plain value whose
// slices are views valid only during the callback of Destinations.
type DestStats struct {
	Name     []byte
	Msgs     int64  // retained messages
	Bytes    int64  // their payload bytes (what MaxBytes limits)
	FirstSeq uint64 // oldest retained seq (LastSeq+1 when empty)
	LastSeq  uint64 // last seq assigned
	// OldestTime is the record time (unix ns) of the oldest retained
	// message, 0 when none is retained.
	OldestTime int64
	Groups     []GroupStats
}

// GroupStats describes one group of a destination.
type GroupStats struct {
	Name    []byte
	Floor   uint64 // every seq below is done for the group
	Pending int    // delivered, not yet acknowledged (volatile)
	// Lag is the number of seqs up to LastSeq the group is not done with:
	// LastSeq - Floor + 1 minus those acknowledged above Floor.
	Lag uint64
}

// Destinations calls fn for every destination, sorted by name.
func (p *Partition) Destinations(fn func(d DestStats)) {
	var groups []GroupStats
	for _, d := range p.order {
		groups = groups[:0]
		for _, g := range d.order {
			groups = append(groups, GroupStats{
				Name:    g.name,
				Floor:   g.floor,
				Pending: g.inflight,
				Lag:     g.lag(d.lastSeq),
			})
		}
		fn(DestStats{
			Name:       d.name,
			Msgs:       d.msgs,
			Bytes:      d.bytes,
			FirstSeq:   d.firstSeq(),
			LastSeq:    d.lastSeq,
			OldestTime: d.oldestTime(),
			Groups:     groups,
		})
	}
}

// oldestTime returns the record time of the oldest retained message, or 0.
func (d *dest) oldestTime() int64 {
	if i := d.firstLiveFrom(d.firstSeq()); i < d.slots.len() {
		return d.slots.at(i).time
	}
	return 0
}

// Limits are the per-destination limits a partition applies (today the
// node's, the same for every destination).
type Limits struct {
	MaxMsgs    int64         // 0: unlimited
	MaxBytes   int64         // payload bytes
	MaxAge     time.Duration // 0: unlimited
	MaxDeliver int           // deliveries to a group before dead-lettering
	AckTimeout time.Duration // in flight this long, a delivery comes back
}

// Limits returns the limits of the partition's destinations.
func (p *Partition) Limits() Limits {
	o := p.opts
	return Limits{MaxMsgs: o.MaxMsgs, MaxBytes: o.MaxBytes, MaxAge: o.MaxAge, MaxDeliver: o.MaxDeliver, AckTimeout: o.AckTimeout}
}
