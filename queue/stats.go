package queue

// DestStats describes one destination for metrics. A plain value whose
// slices are views valid only during the callback of Destinations.
type DestStats struct {
	Name     []byte
	Msgs     int64  // retained messages
	Bytes    int64  // their payload bytes (what MaxBytes limits)
	FirstSeq uint64 // oldest retained seq (LastSeq+1 when empty)
	LastSeq  uint64 // last seq assigned
	Groups   []GroupStats
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
			Name:     d.name,
			Msgs:     d.msgs,
			Bytes:    d.bytes,
			FirstSeq: d.firstSeq(),
			LastSeq:  d.lastSeq,
			Groups:   groups,
		})
	}
}
