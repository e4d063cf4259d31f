package queue

// applyMessages stores the messages of r (already checked) in order:
// duplicates get their original seq, messages over the destination limits
// get CodeDestinationFull, the others the next seqs. The Raw section is
// copied once, on the first message stored, and the stored messages are
// views into that copy.
func (p *Partition) applyMessages(r *Record, res []Result) []Result {
	if r.Count == 0 {
		return res
	}
	d := p.destOrCreate(r.Dest)
	w := p.window
	var chunk []byte
	w.mu.Lock()
	defer w.mu.Unlock()
	for off := 0; off < len(r.Raw); {
		n := msgLen(r.Raw[off:])
		m := r.Raw[off : off+n]
		id := msgID(m)
		if seq, ok := w.getLocked(id); ok {
			res = append(res, Result{Seq: seq, Duplicate: true})
		} else if p.full(d, m) {
			res = append(res, Result{Code: CodeDestinationFull})
		} else {
			if chunk == nil {
				chunk = make([]byte, len(r.Raw))
				copy(chunk, r.Raw)
			}
			seq := d.store(chunk[off:off+n:off+n], r.Time)
			w.addLocked(id, seq, r.Time)
			res = append(res, Result{Seq: seq})
		}
		off += n
	}
	if chunk != nil {
		p.ageFloor = min(p.ageFloor, r.Time)
	}
	return res
}

// full reports whether storing m would take d over MaxMsgs or MaxBytes.
// The counters are derived from records only, so the answer is the same
// on every replica and on replay.
func (p *Partition) full(d *dest, m []byte) bool {
	if p.opts.MaxMsgs > 0 && d.msgs >= p.opts.MaxMsgs {
		return true
	}
	return d.bytes+int64(len(m)-msgHeaderSize) > p.opts.MaxBytes
}

// applyAck marks r.Seqs done for the group. Seqs above the destination's
// last seq, already done, or of an unknown group are ignored: an ack is
// idempotent. Whether a seq was delivered is volatile and not asked, so
// replay gives the same state.
func (p *Partition) applyAck(r *Record, res []Result) []Result {
	d, g := p.destGroup(r)
	for _, seq := range r.Seqs {
		if g != nil && seq <= d.lastSeq && !g.has(seq) {
			p.done(d, g, seq)
		}
		res = append(res, Result{Seq: seq})
	}
	return res
}

// destGroup returns the destination and group a record names; g is nil if
// either does not exist.
func (p *Partition) destGroup(r *Record) (*dest, *group) {
	d := p.dest(r.Dest)
	if d == nil {
		return nil, nil
	}
	return d, d.group(r.Group)
}

// done marks seq done for g and drops the message once every group is
// done with it.
func (p *Partition) done(d *dest, g *group, seq uint64) {
	g.markDone(seq)
	g.settle(seq)
	if d.doneByAll(seq) {
		d.remove(seq)
	}
}

// applyGroupCreate creates the group (and its destination) unless it
// exists.
func (p *Partition) applyGroupCreate(r *Record) {
	d := p.destOrCreate(r.Dest)
	if d.group(r.Group) == nil {
		d.addGroup(r.Group)
	}
}

// applyDeadLetter moves each seq of r the group is not done with to the
// destination's ".dlq" destination: a copy of the message is stored there
// under a new seq (no dedupe, no limits) and the seq becomes done for the
// group. The copies share one allocation.
func (p *Partition) applyDeadLetter(r *Record, res []Result) []Result {
	d, g := p.destGroup(r)
	if g == nil {
		for _, seq := range r.Seqs {
			res = append(res, Result{Seq: seq})
		}
		return res
	}
	size := 0
	for _, seq := range r.Seqs {
		if seq <= d.lastSeq && !g.has(seq) {
			size += len(d.message(seq))
		}
	}
	chunk := make([]byte, 0, size)
	var q *dest
	for _, seq := range r.Seqs {
		if seq > d.lastSeq || g.has(seq) {
			res = append(res, Result{Seq: seq})
			continue
		}
		if m := d.message(seq); m != nil && len(chunk)+len(m) <= cap(chunk) {
			if q == nil {
				q = p.destOrCreate(dlqName(d.name))
			}
			start := len(chunk)
			chunk = append(chunk, m...)
			q.store(chunk[start:len(chunk):len(chunk)], r.Time)
			p.ageFloor = min(p.ageFloor, r.Time)
		}
		p.done(d, g, seq)
		res = append(res, Result{Seq: seq})
	}
	return res
}

// dlqName returns name + ".dlq" in a new slice.
func dlqName(name []byte) []byte {
	return append(append(make([]byte, 0, len(name)+len(dlqSuffix)), name...), dlqSuffix...)
}
