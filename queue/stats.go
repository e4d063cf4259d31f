package queue

import (
	"math"
	"time"
)

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
	// Limits are the destination's effective limits and Config its own
	// settings (zero fields take the node's).
	Limits Limits
	Config DestConfig
	Groups []GroupStats
}

// GroupStats describes one group of a destination.
type GroupStats struct {
	Name    []byte
	Floor   uint64 // every seq below is done for the group
	Pending int    // delivered, not yet acknowledged (volatile)
	// Lag is the number of seqs up to LastSeq the group is not done with:
	// LastSeq - Floor + 1 minus those acknowledged above Floor.
	Lag uint64
	// Redeliveries (deliveries with attempt > 1) and DeadLettered (seqs
	// moved to ".dlq" by an applied dead-letter record) count since the
	// partition was loaded on this node (volatile: not in the snapshot).
	Redeliveries, DeadLettered uint64
}

// Destinations calls fn for every destination, sorted by name (a deleted
// destination is left out until it is used again).
func (p *Partition) Destinations(fn func(d DestStats)) {
	var groups []GroupStats
	for _, d := range p.order {
		if d.deleted {
			continue
		}
		groups = groups[:0]
		for _, g := range d.order {
			groups = append(groups, GroupStats{
				Name:    g.name,
				Floor:   g.floor,
				Pending: g.inflight,
				Lag:     g.lag(d.lastSeq),

				Redeliveries: g.redelivered,
				DeadLettered: g.deadLettered,
			})
		}
		fn(DestStats{
			Name:       d.name,
			Msgs:       d.msgs,
			Bytes:      d.bytes,
			FirstSeq:   d.firstSeq(),
			LastSeq:    d.lastSeq,
			OldestTime: d.oldestTime(),
			Limits:     p.limitsOf(d),
			Config:     d.cfg,
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

// Limits are the limits a destination runs with: the node's, or its own
// (RecordDestConfig). A plain value.
type Limits struct {
	Retention  Retention     // RetentionInterest or RetentionLimits
	MaxMsgs    int64         // 0: unlimited
	MaxBytes   int64         // payload bytes
	MaxAge     time.Duration // 0: unlimited
	MaxDeliver int           // deliveries to a group before dead-lettering
	AckTimeout time.Duration // in flight this long, a delivery comes back
}

// Limits returns the limits of the partition's destinations that set none
// of their own.
func (p *Partition) Limits() Limits {
	return p.limitsOf(&dest{lim: limitsOf(DestConfig{}, &p.opts)})
}

// limitsOf returns d's effective limits.
func (p *Partition) limitsOf(d *dest) Limits {
	o := p.opts
	maxBytes := d.lim.maxBytes
	if maxBytes == math.MaxInt64 {
		maxBytes = 0
	}
	return Limits{Retention: d.lim.retention, MaxMsgs: d.lim.maxMsgs, MaxBytes: maxBytes,
		MaxAge: time.Duration(d.lim.maxAge), MaxDeliver: o.MaxDeliver, AckTimeout: o.AckTimeout}
}

// Peek is one retained message, read without delivering it. A plain
// value; Msg is as Delivery.Msg (nil: read it from the log at Loc).
type Peek struct {
	Seq  uint64
	Time int64 // the record time that stored it (unix ns)
	Msg  []byte
	Loc  Loc
	// Origin is, for a dead-lettered copy, where it came from (nil if
	// not known: not a ".dlq" destination, or an older record).
	Origin *DeadLetterOrigin
}

// Peek returns retained message seq of dest. It changes nothing (no
// delivery, no attempt). ok is false if the destination or the message is
// not retained.
func (p *Partition) Peek(dest []byte, seq uint64) (Peek, bool) {
	d := p.dest(dest)
	if d == nil || d.deleted {
		return Peek{}, false
	}
	s := d.slot(seq)
	if s == nil {
		return Peek{}, false
	}
	pk := Peek{Seq: seq, Time: s.time, Msg: d.hot.view(s.loc), Loc: s.loc}
	if o, ok := d.origins[seq]; ok {
		pk.Origin = &o
	}
	return pk, true
}

// HasDest reports whether destination name exists (and is not deleted).
func (p *Partition) HasDest(name []byte) bool {
	d := p.dest(name)
	return d != nil && !d.deleted
}

// Holders calls fn with the holder given to DeliverTo for each delivery of
// dest's group still out with a consumer: delivered and not acknowledged,
// given back, terminated or dead-lettered, its message not dropped. A
// delivery whose ack timeout passed stays with its holder until it is
// delivered again.
func (p *Partition) Holders(dest, group []byte, fn func(holder uint64)) {
	d := p.dest(dest)
	if d == nil || d.deleted {
		return
	}
	g := d.group(group)
	if g == nil {
		return
	}
	for i := range g.pend.len() {
		e := g.pend.at(i)
		if e.state != pendWait || e.back || e.seq < d.expiredTo || d.slot(e.seq) == nil {
			continue
		}
		fn(e.holder)
	}
}
