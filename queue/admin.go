package queue

import "slices"

// Result codes of the admin records (RecordDestConfig ... RecordReplay):
// the record named a destination or group that does not exist when it
// applied, and changed nothing. Their values are those of the wire codes
// BAD_DESTINATION and BAD_GROUP; the node answers them as "not found".
const (
	CodeNoDestination uint16 = 10
	CodeNoGroup       uint16 = 11
)

// applyAdmin applies the records an operator proposes (swarmctl): one
// Result each, whose Code is CodeOK, CodeNoDestination or CodeNoGroup.
// Count is the messages a purge or a delete dropped, or a replay moved;
// Seq is the first seq a reset group reads next.
func (p *Partition) applyAdmin(r *Record, res []Result) []Result {
	if r.Type == RecordDestConfig {
		p.applyDestConfig(r)
		return append(res, Result{})
	}
	d := p.dest(r.Dest)
	if r.Type == RecordDestEdit {
		if d == nil || d.deleted {
			return append(res, Result{Code: CodeNoDestination})
		}
		p.editDest(d, r.Flags, r.Config)
		return append(res, Result{})
	}
	if r.Type == RecordReplay {
		return append(res, p.applyReplay(r))
	}
	if r.Type == RecordGroupReset && r.Flags&FlagCreate != 0 {
		return append(res, p.applyGroupCreateAt(r))
	}
	if d == nil || d.deleted {
		return append(res, Result{Code: CodeNoDestination})
	}
	switch r.Type {
	case RecordPurge:
		return append(res, Result{Count: p.purge(d)})
	case RecordDestDelete:
		return append(res, Result{Count: p.deleteDest(d)})
	}
	g := d.group(r.Group)
	if g == nil {
		return append(res, Result{Code: CodeNoGroup})
	}
	if r.Type == RecordGroupDelete {
		p.deleteGroup(d, g)
		return append(res, Result{})
	}
	return append(res, Result{Seq: p.resetGroup(d, g, r.Start)})
}

// applyDestConfig creates the destination unless it exists and sets its
// configuration. The limits take effect from now on: nothing is dropped
// or refused for what was stored before, except that MaxAge expires by
// the next record's time, and limits retention keeps what interest
// retention would drop from now on (what it dropped is gone).
func (p *Partition) applyDestConfig(r *Record) {
	d := p.destOrCreate(r.Dest)
	d.deleted = false
	d.cfg = r.Config
	d.lim = limitsOf(d.cfg, &p.opts)
	p.noteFront(d)
}

// editDest sets the fields of d's configuration that flags names to c's.
// As with applyDestConfig, the limits hold from now on (nothing stored is
// dropped for a lower max_msgs or max_bytes; max_age expires by the next
// record's time), except that a destination that turns to interest
// retention drops at once what every group is done with.
func (p *Partition) editDest(d *dest, flags uint8, c DestConfig) {
	if flags&EditRetention != 0 {
		d.cfg.Retention = c.Retention
	}
	if flags&EditMaxMsgs != 0 {
		d.cfg.MaxMsgs = c.MaxMsgs
	}
	if flags&EditMaxBytes != 0 {
		d.cfg.MaxBytes = c.MaxBytes
	}
	if flags&EditMaxAge != 0 {
		d.cfg.MaxAge = c.MaxAge
	}
	d.lim = limitsOf(d.cfg, &p.opts)
	p.noteFront(d)
	p.dropDone(d, d.lastSeq+1)
}

// purge drops every retained message of d; its groups are done with
// everything up to its last seq. It returns how many messages it dropped.
func (p *Partition) purge(d *dest) uint64 {
	n := uint64(d.msgs)
	for d.slots.len() > 0 {
		if s := d.slots.at(0); s.live() {
			d.drop(s)
		}
		d.slots.popFront()
	}
	for _, g := range d.order {
		g.raiseFloor(d.lastSeq + 1)
	}
	return n
}

// deleteDest purges d and forgets its groups and configuration. d stays,
// hidden, with its last seq (see dest.deleted).
func (p *Partition) deleteDest(d *dest) uint64 {
	n := p.purge(d)
	clear(d.groups)
	d.order = nil
	d.cfg = DestConfig{}
	d.lim = limitsOf(d.cfg, &p.opts)
	d.deleted = true
	return n
}

// deleteGroup forgets g; on an interest-retention destination, what every
// remaining group is done with is dropped (with no group left, messages
// stay until the limits drop them, as before any group existed).
func (p *Partition) deleteGroup(d *dest, g *group) {
	delete(d.groups, g.key)
	d.order = slices.DeleteFunc(d.order, func(x *group) bool { return x == g })
	p.dropDone(d, d.lastSeq+1)
}

// dropDone drops, on an interest-retention destination, each retained
// message below seq that every group is done with.
func (p *Partition) dropDone(d *dest, below uint64) {
	if d.lim.retention != RetentionInterest || len(d.order) == 0 {
		return
	}
	var seqs []uint64
	for i := 0; i < d.slots.len(); i++ {
		s := d.slots.at(i)
		if s.seq >= below {
			break
		}
		if s.live() && d.doneByAll(s.seq) {
			seqs = append(seqs, s.seq)
		}
	}
	for _, seq := range seqs {
		p.dropIfDone(d, seq)
	}
}

// resetGroup moves g to start: every retained message from there on is
// to be delivered again, everything before it is done. In-flight
// deliveries are forgotten (their acks still apply). It returns the
// group's new floor.
func (p *Partition) resetGroup(d *dest, g *group, start Start) uint64 {
	floor := start.seqOf(d)
	spans := d.removedFrom(floor)
	if len(spans) > 0 && spans[0].lo == floor { // start at the next retained seq
		floor, spans = spans[0].hi+1, spans[1:]
	}
	fresh := newGroup(g.name, floor)
	fresh.spans = spans
	fresh.countAcked()
	fresh.redelivered, fresh.deadLettered = g.redelivered, g.deadLettered
	*g = *fresh
	p.dropDone(d, floor)
	return floor
}

// applyGroupCreateAt creates the group (and its destination) at r.Start
// unless it exists; an existing group is left where it is.
func (p *Partition) applyGroupCreateAt(r *Record) Result {
	d := p.destOrCreate(r.Dest)
	d.deleted = false
	if g := d.group(r.Group); g != nil {
		return Result{Seq: g.floor}
	}
	g := d.addGroup(r.Group)
	return Result{Seq: p.resetGroup(d, g, r.Start)}
}

// applyReplay moves every retained message of r.Dest's dead-letter
// destination back to r.Dest: each is stored there under a new seq,
// pointing at the same bytes (its id unchanged), and leaves the ".dlq"
// destination, whose groups are done with it.
func (p *Partition) applyReplay(r *Record) Result {
	q := p.dest(dlqName(r.Dest))
	if q == nil || q.deleted {
		return Result{Code: CodeNoDestination}
	}
	d := p.destOrCreate(r.Dest)
	d.deleted = false
	var n uint64
	for q.slots.len() > 0 {
		if s := q.slots.at(0); s.live() {
			d.store(s.loc, r.Time)
			p.hot.ref(s.loc.Index)
			q.drop(s)
			n++
		}
		q.slots.popFront()
	}
	for _, g := range q.order {
		g.raiseFloor(q.lastSeq + 1)
	}
	if n > 0 {
		p.noteStored(d, r.Time)
	}
	return Result{Count: n}
}

// removedFrom returns, as spans, the seqs from floor to lastSeq that are
// no longer retained (a group starting at floor counts them as done).
func (d *dest) removedFrom(floor uint64) []span {
	var spans []span
	prev := floor - 1
	for i := d.firstLiveFrom(floor); i < d.slots.len(); i++ {
		s := d.slots.at(i)
		if !s.live() {
			continue
		}
		if s.seq > prev+1 {
			spans = append(spans, span{prev + 1, s.seq - 1})
		}
		prev = s.seq
	}
	if d.lastSeq > prev {
		spans = append(spans, span{prev + 1, d.lastSeq})
	}
	return spans
}
