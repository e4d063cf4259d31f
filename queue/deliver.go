package queue

import (
	"math"
	"time"
)

// Delivery is one message handed to a consumer. A plain value; Msg may be
// read from any goroutine.
type Delivery struct {
	Seq     uint64
	Attempt uint32 // 1 on the first delivery to the group
	// Msg is the raw wire message if it is in memory, else nil: the caller
	// reads it from the log at Loc (see Budget and MessageAt). The
	// partition never writes to it again, so the view stays valid (and
	// unchanged) after the message is dropped.
	Msg []byte
	// Loc is where the message lies in the log.
	Loc Loc
}

// DeadSet is a batch of seqs of one group that exhausted MaxDeliver; the
// node logs it as a RecordDeadLetter record. Dest and Group are views of
// the partition's names (never modified). A plain value.
type DeadSet struct {
	Dest  []byte
	Group []byte
	Seqs  []uint64
	// Attempts are the deliveries each of Seqs had (a
	// RecordDeadLetterFrom record's).
	Attempts []uint32
}

// deadRef is one exhausted delivery waiting for TakeDead.
type deadRef struct {
	d   *dest
	g   *group
	seq uint64
}

// Deliver appends up to max deliveries for the group to out: first the
// in-flight messages whose deadline is <= now, in seq order, then messages
// never delivered, in seq order. Each gets attempt+1 and the deadline
// now+AckTimeout. An in-flight message that is due after MaxDeliver
// attempts is not delivered but queued for TakeDead (not on ".dlq"
// destinations). Messages older than MaxAge at now are skipped. Deliver
// returns ErrUnknownGroup if the group (or destination) does not exist.
// Deliver changes only volatile state; the Msg views are described on
// Delivery.
func (p *Partition) Deliver(dest, group []byte, max int, now int64, out []Delivery) ([]Delivery, error) {
	return p.DeliverTo(dest, group, max, now, 0, out)
}

// DeliverTo is Deliver, remembering holder (a consumer's tag, opaque to
// the partition) with each delivery until it is settled, given back or
// delivered again; Holders reads them.
func (p *Partition) DeliverTo(dest, group []byte, max int, now int64, holder uint64, out []Delivery) ([]Delivery, error) {
	d := p.dest(dest)
	if d == nil {
		return out, ErrUnknownGroup
	}
	g := d.group(group)
	if g == nil {
		return out, ErrUnknownGroup
	}
	p.see(now)
	if max <= 0 {
		return out, nil
	}
	p.expireVolatile(d, now)
	start := len(out)
	out = p.redeliver(d, g, max, now, holder, out)
	return p.deliverNew(d, g, max-(len(out)-start), now, holder, out), nil
}

// see records now as the newest time a query was given.
func (p *Partition) see(now int64) {
	if now > p.now {
		p.now = now
	}
}

// redeliver appends the due in-flight messages of g (see Deliver).
func (p *Partition) redeliver(d *dest, g *group, max int, now int64, holder uint64, out []Delivery) []Delivery {
	g.nextTimer(now)
	if !g.hasDue {
		return out
	}
	deadline := satAdd(now, int64(p.opts.AckTimeout))
	n, i := 0, 0
	for ; i < g.pend.len() && n < max; i++ {
		e := g.pend.at(i)
		if e.state == pendNone || e.deadline > now {
			continue
		}
		if e.state == pendDead || p.exhausted(d, e) {
			p.markDead(d, g, e, deadline)
			continue
		}
		s := d.slot(e.seq)
		if s == nil { // cannot happen: removal settles every group first
			g.dropPend(e)
			continue
		}
		e.attempt++
		e.back, e.progress, e.holder = false, 0, holder
		g.redelivered++
		g.setDeadline(e, deadline)
		out = append(out, Delivery{Seq: e.seq, Attempt: e.attempt, Msg: d.hot.view(s.loc), Loc: s.loc})
		n++
	}
	if i == g.pend.len() {
		g.hasDue = false
	}
	g.trimPend()
	return out
}

// markDead queues e for TakeDead (once) and pushes its deadline out, so
// it is handed out again only if its DeadLetter record never applies.
func (p *Partition) markDead(d *dest, g *group, e *pending, deadline int64) {
	e.state = pendDead
	if !e.queued {
		e.queued = true
		p.dead = append(p.dead, deadRef{d: d, g: g, seq: e.seq})
	}
	g.setDeadline(e, deadline)
}

// Sweep queues for TakeDead every in-flight delivery that is due at now
// and has exhausted MaxDeliver, so a message whose last attempt timed out
// or was NACKed moves to the dead-letter destination without waiting for
// its group's next FETCH. It scans only groups with due deliveries.
// Volatile.
func (p *Partition) Sweep(now int64) {
	p.see(now)
	if p.opts.MaxDeliver <= 0 {
		return
	}
	deadline := satAdd(now, int64(p.opts.AckTimeout))
	for _, d := range p.order {
		if d.dlq {
			continue
		}
		for _, g := range d.order {
			g.nextTimer(now)
			if !g.hasDue {
				continue
			}
			for i := 0; i < g.pend.len(); i++ {
				e := g.pend.at(i)
				if e.state != pendNone && e.deadline <= now && (e.state == pendDead || p.exhausted(d, e)) {
					p.markDead(d, g, e, deadline)
				}
			}
		}
	}
}

// exhausted reports whether in-flight e has used up its deliveries.
func (p *Partition) exhausted(d *dest, e *pending) bool {
	return p.opts.MaxDeliver > 0 && !d.dlq && e.attempt >= uint32(min(p.opts.MaxDeliver, math.MaxUint32))
}

// deliverNew appends up to max never-delivered messages of g.
func (p *Partition) deliverNew(d *dest, g *group, max int, now int64, holder uint64, out []Delivery) []Delivery {
	g.next = maxU64(g.next, g.floor, d.expiredTo, d.firstSeq())
	deadline := satAdd(now, int64(p.opts.AckTimeout))
	for n := 0; n < max && g.next <= d.lastSeq; {
		seq := g.next
		if i := g.spanIndex(seq); i < len(g.spans) && g.spans[i].lo <= seq {
			g.next = g.spans[i].hi + 1
			continue
		}
		i := d.firstLiveFrom(seq)
		if i == d.slots.len() {
			g.next = d.lastSeq + 1
			break
		}
		s := d.slots.at(i)
		if s.seq != seq {
			g.next = s.seq // skip removed seqs
			continue
		}
		g.next++
		g.pend.push(pending{seq: seq, attempt: 1, state: pendWait, holder: holder})
		g.inflight++
		g.setDeadline(g.pend.back(), deadline)
		out = append(out, Delivery{Seq: seq, Attempt: 1, Msg: d.hot.view(s.loc), Loc: s.loc})
		n++
	}
	return out
}

func maxU64(a uint64, b ...uint64) uint64 {
	for _, x := range b {
		a = max(a, x)
	}
	return a
}

// Nack makes the in-flight deliveries seqs of the group deliverable again
// at now+delay, keeping their attempt counts. It returns how many of seqs
// it gave back: those in flight and not already given back since their
// last delivery. Volatile.
func (p *Partition) Nack(dest, group []byte, seqs []uint64, delay time.Duration, now int64) int {
	return p.giveBack(dest, group, seqs, delay, now, false)
}

// Release is Nack without counting the attempt: each in-flight delivery
// of seqs gets back the attempt its last delivery took, so its next
// delivery carries the same attempt number and a release never brings a
// message nearer MaxDeliver (the NACK release flag, AMQP's "released":
// the consumer never tried to process it). It returns how many of seqs
// it gave back, as Nack. Volatile.
func (p *Partition) Release(dest, group []byte, seqs []uint64, delay time.Duration, now int64) int {
	return p.giveBack(dest, group, seqs, delay, now, true)
}

// giveBack is Nack, and Release when release is set.
func (p *Partition) giveBack(dest, group []byte, seqs []uint64, delay time.Duration, now int64, release bool) int {
	p.see(now)
	d := p.dest(dest)
	if d == nil {
		return 0
	}
	g := d.group(group)
	if g == nil {
		return 0
	}
	at := satAdd(now, max(int64(delay), 0))
	n := 0
	for _, seq := range seqs {
		// A seq already given back and not delivered since is left as it
		// is: a second NACK neither counts it nor moves its due time, and
		// a second release cannot take its attempt below the delivery's.
		if e := g.pendAt(seq); e != nil && e.state == pendWait && !e.back {
			if release && e.attempt > 0 {
				e.attempt--
			}
			e.back = true
			g.setDeadline(e, at)
			n++
		}
	}
	return n
}

// Progress pushes out the ack deadline of the in-flight deliveries seqs
// of the group to now+AckTimeout: the consumer is still working on them
// (PROGRESS, JetStream's +WPI). Each delivery may be pushed out at most
// MaxProgress times; its next delivery starts the count again. A seq not
// in flight (acked, given back, never delivered, already due and
// redelivered) or out of pushes is left alone. It returns how many of
// seqs it pushed out. Volatile, like every deadline.
func (p *Partition) Progress(dest, group []byte, seqs []uint64, now int64) int {
	p.see(now)
	d := p.dest(dest)
	if d == nil {
		return 0
	}
	g := d.group(group)
	if g == nil {
		return 0
	}
	at := satAdd(now, int64(p.opts.AckTimeout))
	n := 0
	for _, seq := range seqs {
		e := g.pendAt(seq)
		if e == nil || e.state != pendWait || e.back || int(e.progress) >= p.opts.MaxProgress {
			continue
		}
		e.progress++
		if at > e.deadline {
			g.setDeadline(e, at)
		}
		n++
	}
	return n
}

// TakeDead appends to out the exhausted deliveries found by Deliver since
// the last call, one DeadSet per run of the same group, and forgets them.
// A seq is handed out once; if its RecordDeadLetter has not applied one
// AckTimeout later (say the record was lost), Deliver hands it out again.
// out's spare capacity is reused, Seqs included.
func (p *Partition) TakeDead(out []DeadSet) []DeadSet {
	var last *group
	for _, r := range p.dead {
		e := r.g.pendAt(r.seq)
		if e == nil || e.state != pendDead || !e.queued {
			continue // acked or dropped since
		}
		e.queued = false
		if r.g != last {
			out = growDead(out)
			ds := &out[len(out)-1]
			ds.Dest, ds.Group = r.d.name, r.g.name
			last = r.g
		}
		ds := &out[len(out)-1]
		ds.Seqs = append(ds.Seqs, r.seq)
		ds.Attempts = append(ds.Attempts, e.attempt)
	}
	clear(p.dead)
	p.dead = p.dead[:0]
	return out
}

// growDead appends an empty DeadSet, reusing spare capacity.
func growDead(out []DeadSet) []DeadSet {
	if len(out) < cap(out) {
		out = out[:len(out)+1]
		out[len(out)-1].Seqs = out[len(out)-1].Seqs[:0]
		out[len(out)-1].Attempts = out[len(out)-1].Attempts[:0]
		return out
	}
	return append(out, DeadSet{})
}

// ExpireAge stops delivering the messages stored more than MaxAge before
// now (in seq order: a message expires with or after those before it), to
// every group, and drops their in-flight deliveries. It returns how many
// messages it expired. Their bytes are freed deterministically by the
// next applied record whose Time makes them expire (see doc.go): this
// volatile call never changes what Apply does or what Snapshot encodes.
func (p *Partition) ExpireAge(now int64) int {
	p.see(now)
	n := 0
	for _, d := range p.order {
		n += p.expireVolatile(d, now)
	}
	return n
}

// expireVolatile advances d.expiredTo to now and drops the in-flight
// deliveries below it.
func (p *Partition) expireVolatile(d *dest, now int64) int {
	if d.lim.maxAge <= 0 {
		return 0
	}
	limit := satSub(now, d.lim.maxAge)
	n := 0
	for i := d.firstLiveFrom(max(d.expiredTo, d.firstSeq())); i < d.slots.len(); i++ {
		s := d.slots.at(i)
		if !s.live() {
			continue
		}
		if s.time >= limit {
			break
		}
		d.expiredTo = s.seq + 1
		n++
	}
	if n > 0 {
		for _, g := range d.order {
			g.dropPendBelow(d.expiredTo)
		}
	}
	return n
}

// NextDeadline returns the earliest time after the newest `now` given to
// Deliver, Nack or ExpireAge at which a query has work: an in-flight
// deadline, a NACK delay, an age expiry. Deadlines already passed are not
// reported (a due redelivery waits for the next Deliver), so a node that
// calls ExpireAge(now) and then sleeps until NextDeadline never spins.
func (p *Partition) NextDeadline() (int64, bool) {
	best, ok := int64(math.MaxInt64), false
	for _, d := range p.order {
		if t, has := p.ageDeadline(d); has && t < best {
			best, ok = t, true
		}
		for _, g := range d.order {
			if t, has := g.nextTimer(p.now); has && t < best {
				best, ok = t, true
			}
		}
	}
	return best, ok
}

// ageDeadline returns when the next not yet expired message of d expires.
func (p *Partition) ageDeadline(d *dest) (int64, bool) {
	if d.lim.maxAge <= 0 {
		return 0, false
	}
	i := d.firstLiveFrom(max(d.expiredTo, d.firstSeq()))
	if i == d.slots.len() {
		return 0, false
	}
	t := satAdd(satAdd(d.slots.at(i).time, d.lim.maxAge), 1)
	return max(t, satAdd(p.now, 1)), true
}
