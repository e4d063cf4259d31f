package queue

// applyMessages stores the messages of r, entry index of the log (already
// checked), in order: duplicates get their original seq, messages over the
// destination limits get CodeDestinationFull, the others the next seqs.
// The dedupe key is (destination, id), looked up in the window of
// application ids for RecordMessages and in the window of the message's
// producer session for RecordSessionMessages. If any is stored and the
// budget has room (see Budget), the Raw section is copied into memory
// once.
func (p *Partition) applyMessages(index uint64, r *Record, res []Result) []Result {
	if r.Count == 0 {
		return res
	}
	d := p.destOrCreate(r.Dest)
	stored := 0
	var ss *session // the session of the message before, if any
	// w is the window in use, locked for writing: the application ids' for
	// RecordMessages, else the session's, locked once per run of one
	// session's messages (a lock per message cost 4% of the node's CPU,
	// contended by the dedupe stage's look-ups).
	var w *Window
	if r.Type == RecordMessages {
		w = p.window
		w.mu.Lock()
	}
	for off := 0; off < len(r.Raw); {
		n := msgLen(r.Raw[off:])
		m := r.Raw[off : off+n]
		id := msgID(m)
		if r.Type == RecordSessionMessages {
			if pr := msgProducer(m); ss == nil || ss.producer != pr {
				if w != nil {
					w.mu.Unlock()
				}
				ss = p.sessions.get(pr, p.lastTime)
				w = ss.w
				w.mu.Lock()
			}
		}
		if seq, ok, h := w.getLocked(d, id); ok {
			res = append(res, Result{Seq: seq, Duplicate: true})
		} else if p.full(d, m) && !p.makeRoom(d, m) {
			res = append(res, Result{Code: CodeDestinationFull})
		} else {
			stored++
			loc := Loc{Index: index, Off: uint32(off), Len: uint32(n)}
			seq := d.store(loc, r.Time)
			e := winEntry{id: id, d: d, seq: seq, time: r.Time, loc: loc}
			if ss != nil {
				p.sessions.addLocked(ss, e, h)
			} else {
				w.addLocked(e, h)
			}
			res = append(res, Result{Seq: seq})
		}
		off += n
	}
	w.mu.Unlock()
	if ss != nil {
		p.sessions.bound(ss)
	}
	if stored > 0 {
		d.deleted = false
		p.hot.keep(index, r.Raw, stored)
		p.noteStored(d, r.Time)
	}
	return res
}

// full reports whether storing m would take d over MaxMsgs or MaxBytes.
// The counters are derived from records only, so the answer is the same
// on every replica and on replay.
func (p *Partition) full(d *dest, m []byte) bool {
	if d.lim.maxMsgs > 0 && d.msgs >= d.lim.maxMsgs {
		return true
	}
	return d.bytes+int64(len(m)-msgHeaderSize) > d.lim.maxBytes
}

// makeRoom drops the oldest messages of a limits-retention destination
// until m fits, and reports whether it does (a message larger than
// MaxBytes never fits). Interest retention never makes room.
func (p *Partition) makeRoom(d *dest, m []byte) bool {
	size := int64(len(m) - msgHeaderSize)
	if d.lim.retention != RetentionLimits || size > d.lim.maxBytes {
		return false
	}
	for p.full(d, m) && d.slots.len() > 0 {
		d.dropFront()
	}
	p.noteFront(d) // the new oldest message may be older than the one dropped
	return !p.full(d, m)
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
	p.dropIfDone(d, seq)
}

// dropIfDone drops message seq of an interest-retention destination once
// every group is done with it.
func (p *Partition) dropIfDone(d *dest, seq uint64) {
	if d.lim.retention == RetentionInterest && d.doneByAll(seq) {
		d.remove(seq)
		// The new front may be older than every front before (records
		// can carry an older Time than the one before them): keep
		// ageDue a lower bound, or MaxAge would skip it here and not
		// after a restore.
		p.noteFront(d)
	}
}

// applyGroupCreate creates the group (and its destination) unless it
// exists.
func (p *Partition) applyGroupCreate(r *Record) {
	d := p.destOrCreate(r.Dest)
	d.deleted = false
	if d.group(r.Group) == nil {
		d.addGroup(r.Group)
	}
}

// applyDeadLetter moves each seq of r the group is not done with to the
// destination's ".dlq" destination: the message is stored there under a
// new seq (no dedupe, no limits), pointing at the same bytes of the log,
// and the seq becomes done for the group. A RecordTerminate does the same
// with ReasonTerminated and the consumer's note, except on a ".dlq"
// destination, which has none of its own: there the seq only becomes
// done. Like an ack, it does not ask whether the seq was delivered (that
// is volatile).
func (p *Partition) applyDeadLetter(r *Record, res []Result) []Result {
	d, g := p.destGroup(r)
	if g == nil {
		for _, seq := range r.Seqs {
			res = append(res, Result{Seq: seq})
		}
		return res
	}
	var q *dest
	for i, seq := range r.Seqs {
		if seq > d.lastSeq || g.has(seq) {
			res = append(res, Result{Seq: seq})
			continue
		}
		if s := d.slot(seq); s != nil && !d.dlq {
			if q == nil {
				q = p.destOrCreate(dlqName(d.name))
			}
			at := q.store(s.loc, r.Time)
			switch r.Type {
			case RecordDeadLetterFrom:
				q.setOrigin(at, DeadLetterOrigin{Group: g.key, Seq: seq, Attempts: r.Attempts[i], Reason: r.Reason})
			case RecordTerminate:
				q.setOrigin(at, DeadLetterOrigin{Group: g.key, Seq: seq, Reason: ReasonTerminated, Note: string(r.Note)})
			}
			q.deleted = false
			p.hot.ref(s.loc.Index)
			p.noteStored(q, r.Time)
		}
		g.deadLettered++
		p.done(d, g, seq)
		res = append(res, Result{Seq: seq, Count: terminated(r.Type)})
	}
	return res
}

// terminated is the Result.Count of a seq a record of type t made done:
// 1 for RecordTerminate, which counts them.
func terminated(t RecordType) uint64 {
	if t == RecordTerminate {
		return 1
	}
	return 0
}

// dlqName returns name + ".dlq" in a new slice.
func dlqName(name []byte) []byte {
	return append(append(make([]byte, 0, len(name)+len(dlqSuffix)), name...), dlqSuffix...)
}
