package clienttest

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// defaultFetch is the batch of a FETCH that asks for 0 messages.
const defaultFetch = 100

// broker is the Server's in-memory state. Safe for concurrent use.
type broker struct {
	discard bool
	reject  func(string, frame.Message) frame.Code
	timers  sync.WaitGroup // parked fetches whose timer may still fire

	mu struct {
		sync.Mutex
		dests     map[string]*destination
		parked    []*parked
		closed    bool
		producers uint64 // sessions opened
	}
}

type destination struct {
	msgs   [][]byte // raw messages; seq = index + 1
	last   uint64
	ids    map[[16]byte]uint64
	groups map[string]*group
	// reasons, on a dead-letter destination, are the TERM reasons of the
	// copies a TERM made, by seq.
	reasons map[uint64]string
}

type group struct {
	cursor   uint64   // next seq never delivered
	redo     []uint64 // nacked, delivered first
	attempts map[uint64]uint32
	inflight map[uint64]bool
}

// parked is a FETCH waiting for messages.
type parked struct {
	c     *Conn
	corr  uint64
	dest  string
	group string
	max   int
	timer *time.Timer
}

type delivery struct {
	seq     uint64
	attempt uint32
	raw     []byte
}

func newBroker(discard bool, reject func(string, frame.Message) frame.Code) *broker {
	b := &broker{discard: discard, reject: reject}
	b.mu.dests = make(map[string]*destination)
	return b
}

func (b *broker) destLocked(name string) *destination {
	d := b.mu.dests[name]
	if d == nil {
		d = &destination{ids: make(map[[16]byte]uint64), groups: make(map[string]*group)}
		b.mu.dests[name] = d
	}
	return d
}

func (d *destination) group(name string) *group {
	g := d.groups[name]
	if g == nil {
		g = &group{cursor: 1, attempts: make(map[uint64]uint32), inflight: make(map[uint64]bool)}
		d.groups[name] = g
	}
	return g
}

// handle answers one frame of c.
func (b *broker) handle(c *Conn, f frame.Frame) {
	var err error
	switch f.Type {
	case frame.TypePublish, frame.TypeFetch, frame.TypeAck, frame.TypeNack, frame.TypeTerm, frame.TypeProgress:
		if err = c.s.leads(f); err != nil {
			break
		}
		err = b.request(c, f)
	case frame.TypePing:
		_ = c.Send(frame.AppendPong(nil, f.Corr))
	case frame.TypeProducer:
		err = b.producer(c, f)
	case frame.TypeMetadata:
		err = c.s.metadata(c, f)
	case frame.TypePong:
	default:
		err = &frame.Error{Code: frame.CodeUnknownType, Msg: f.Type.String() + " is not a request"}
	}
	if err != nil {
		code := frame.CodeOf(err)
		_ = c.Send(frame.AppendError(nil, f.Corr, code, err.Error()))
		if code.Fatal() {
			_ = c.Close()
		}
	}
}

// request answers PUBLISH, FETCH, ACK or NACK.
func (b *broker) request(c *Conn, f frame.Frame) error {
	var err error
	switch f.Type {
	case frame.TypePublish:
		err = b.publish(c, f)
	case frame.TypeFetch:
		err = b.fetch(c, f)
	case frame.TypeAck:
		err = b.ack(c, f)
	case frame.TypeNack:
		err = b.nack(c, f)
	case frame.TypeTerm:
		err = b.term(c, f)
	case frame.TypeProgress:
		err = b.progress(c, f)
	}
	return err
}

// producer opens or resumes a producer session: the fake's token is the
// id (xor the node's salt in a Cluster with NodeKeys), so resuming any id
// the fake issued works (on any node of a Cluster without NodeKeys).
func (b *broker) producer(c *Conn, f frame.Frame) error {
	p, err := frame.DecodeProducer(f.Body)
	if err != nil {
		return err
	}
	if p.ID == 0 {
		b.mu.Lock()
		b.mu.producers++
		p.ID = b.mu.producers<<32 | 0x5e55
		b.mu.Unlock()
	} else if binary.BigEndian.Uint64(p.Token[:]) != p.ID^c.s.salt {
		return &frame.Error{Code: frame.CodeBadProducer, Msg: "wrong token"}
	}
	binary.BigEndian.PutUint64(p.Token[:], p.ID^c.s.salt)
	_ = c.Send(frame.AppendProducerOK(nil, f.Corr, frame.ProducerOK{ID: p.ID, Token: p.Token, Window: 8192}))
	return nil
}

func (b *broker) publish(c *Conn, f frame.Frame) error {
	p, err := frame.DecodePublish(f.Body, 0)
	if err != nil {
		return err
	}
	dest := string(p.Destination)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.entries = sc.entries[:0]
	b.mu.Lock()
	d := b.destLocked(dest)
	for m, raw, ok := p.Next(); ok; m, raw, ok = p.Next() {
		sc.entries = append(sc.entries, b.storeLocked(d, dest, m, raw))
	}
	b.mu.Unlock()
	sc.out = frame.AppendPublishAck(sc.out[:0], f.Corr, sc.entries)
	_ = c.Send(sc.out)
	b.wake(dest)
	return nil
}

// scratch holds the buffers of one PUBLISH answer, reused through
// scratchPool so that the fake server stays out of client benchmarks.
type scratch struct {
	entries []frame.AckEntry
	out     []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (b *broker) storeLocked(d *destination, dest string, m frame.Message, raw []byte) frame.AckEntry {
	if !m.Verify() {
		return frame.AckEntry{Code: frame.CodeChecksum}
	}
	if b.reject != nil {
		if code := b.reject(dest, m); code != frame.CodeOK {
			return frame.AckEntry{Code: code}
		}
	}
	if b.discard {
		d.last++
		return frame.AckEntry{Seq: d.last}
	}
	if seq, ok := d.ids[m.ID]; ok {
		return frame.AckEntry{Flags: frame.FlagDuplicate, Seq: seq}
	}
	d.last++
	d.msgs = append(d.msgs, append([]byte(nil), raw...))
	d.ids[m.ID] = d.last
	return frame.AckEntry{Seq: d.last}
}

func (b *broker) fetch(c *Conn, f frame.Frame) error {
	q, err := frame.DecodeFetchFlags(f.Body, f.Flags)
	if err != nil {
		return err
	}
	p := &parked{c: c, corr: f.Corr, dest: string(q.Destination), group: string(q.Group), max: int(q.Max)}
	if p.max == 0 {
		p.max = defaultFetch
	}
	b.mu.Lock()
	ds := b.deliverLocked(p)
	if len(ds) == 0 && q.WaitMS > 0 && !b.mu.closed {
		b.timers.Add(1)
		p.timer = time.AfterFunc(time.Duration(q.WaitMS)*time.Millisecond, func() {
			defer b.timers.Done()
			b.expire(p)
		})
		b.mu.parked = append(b.mu.parked, p)
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	sendMessages(p, ds)
	return nil
}

// deliverLocked hands out up to p.max messages: nacked ones first, then
// new ones.
func (b *broker) deliverLocked(p *parked) []delivery {
	d := b.destLocked(p.dest)
	g := d.group(p.group)
	var ds []delivery
	take := func(seq uint64) {
		g.attempts[seq]++
		g.inflight[seq] = true
		ds = append(ds, delivery{seq: seq, attempt: g.attempts[seq], raw: d.msgs[seq-1]})
	}
	for len(ds) < p.max && len(g.redo) > 0 {
		take(g.redo[0])
		g.redo = g.redo[1:]
	}
	for len(ds) < p.max && g.cursor <= uint64(len(d.msgs)) {
		take(g.cursor)
		g.cursor++
	}
	return ds
}

func sendMessages(p *parked, ds []delivery) {
	buf := frame.StartMessages(nil, p.corr)
	for _, d := range ds {
		buf = frame.AppendDelivery(buf, d.seq, d.attempt, d.raw)
	}
	frame.FinishMessages(buf, 0, uint32(len(ds)))
	_ = p.c.Send(buf)
}

// wake serves the parked fetches of dest that can be served now.
func (b *broker) wake(dest string) {
	type reply struct {
		p  *parked
		ds []delivery
	}
	var replies []reply
	b.mu.Lock()
	b.mu.parked = slices.DeleteFunc(b.mu.parked, func(p *parked) bool {
		if p.dest != dest {
			return false
		}
		if p.c.closed.Load() {
			b.stopLocked(p)
			return true
		}
		ds := b.deliverLocked(p)
		if len(ds) == 0 {
			return false
		}
		b.stopLocked(p)
		replies = append(replies, reply{p, ds})
		return true
	})
	b.mu.Unlock()
	for _, r := range replies {
		sendMessages(r.p, r.ds)
	}
}

// expire answers a parked fetch whose wait ran out with no messages.
func (b *broker) expire(p *parked) {
	b.mu.Lock()
	n := len(b.mu.parked)
	b.mu.parked = slices.DeleteFunc(b.mu.parked, func(q *parked) bool { return q == p })
	found := len(b.mu.parked) < n
	b.mu.Unlock()
	if found {
		sendMessages(p, nil)
	}
}

func (b *broker) ack(c *Conn, f frame.Frame) error {
	a, err := frame.DecodeAck(f.Body)
	if err != nil {
		return err
	}
	b.mu.Lock()
	g := b.destLocked(string(a.Destination)).group(string(a.Group))
	for i := range a.Len() {
		delete(g.inflight, a.Seq(i))
	}
	b.mu.Unlock()
	_ = c.Send(frame.AppendAckOK(nil, f.Corr, uint32(a.Len())))
	return nil
}

func (b *broker) nack(c *Conn, f frame.Frame) error {
	n, err := frame.DecodeNack(f.Body)
	if err != nil {
		return err
	}
	count := 0
	b.mu.Lock()
	g := b.destLocked(string(n.Destination)).group(string(n.Group))
	for i := range n.Len() {
		if seq := n.Seq(i); g.inflight[seq] {
			delete(g.inflight, seq)
			g.redo = append(g.redo, seq)
			if frame.Released(f.Header) {
				g.attempts[seq]-- // the attempt is not counted
			}
			count++
		}
	}
	b.mu.Unlock()
	_ = c.Send(frame.AppendNackOK(nil, f.Corr, uint32(count)))
	b.wake(string(n.Destination))
	return nil
}

// term ends the in-flight seqs of a TERM for the group and copies each to
// the dead-letter destination with the reason (unless dest is one).
func (b *broker) term(c *Conn, f frame.Frame) error {
	t, err := frame.DecodeTerm(f.Body)
	if err != nil {
		return err
	}
	dest := string(t.Destination)
	var dead []uint64
	b.mu.Lock()
	g := b.destLocked(dest).group(string(t.Group))
	for i := range t.Len() {
		if seq := t.Seq(i); g.inflight[seq] {
			delete(g.inflight, seq)
			dead = append(dead, seq)
		}
	}
	b.mu.Unlock()
	if !frame.IsDeadLetter(t.Destination) {
		for _, seq := range dead {
			if at, ok := b.deadLetter(dest, seq); ok {
				b.mu.Lock()
				dlq := b.destLocked(dest + frame.DeadLetterSuffix)
				if dlq.reasons == nil {
					dlq.reasons = make(map[uint64]string)
				}
				dlq.reasons[at] = string(t.Reason)
				b.mu.Unlock()
			}
		}
	}
	_ = c.Send(frame.AppendAckOK(nil, f.Corr, uint32(t.Len())))
	return nil
}

// progress answers a PROGRESS with the number of its seqs in flight (the
// fake has no ack timeout to push out).
func (b *broker) progress(c *Conn, f frame.Frame) error {
	a, err := frame.DecodeProgress(f.Body)
	if err != nil {
		return err
	}
	count := 0
	b.mu.Lock()
	g := b.destLocked(string(a.Destination)).group(string(a.Group))
	for i := range a.Len() {
		if g.inflight[a.Seq(i)] {
			count++
		}
	}
	b.mu.Unlock()
	_ = c.Send(frame.AppendNackOK(nil, f.Corr, uint32(count)))
	return nil
}

// termReason returns the TERM reason of message seq of the dead-letter
// destination dlq.
func (b *broker) termReason(dlq string, seq uint64) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.mu.dests[dlq]
	if d == nil {
		return "", false
	}
	r, ok := d.reasons[seq]
	return r, ok
}

func (b *broker) messages(dest string) []frame.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.mu.dests[dest]
	if d == nil {
		return nil
	}
	out := make([]frame.Message, 0, len(d.msgs))
	for _, raw := range d.msgs {
		m, _, _ := frame.ParseMessage(raw)
		m.Payload = append([]byte(nil), m.Payload...)
		out = append(out, m)
	}
	return out
}

// update rewrites message seq of dest with fn and a fresh CRC.
func (b *broker) update(dest string, seq uint64, fn func(*frame.Message)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.mu.dests[dest]
	if d == nil || seq < 1 || seq > uint64(len(d.msgs)) {
		return false
	}
	m, _, err := frame.ParseMessage(d.msgs[seq-1])
	if err != nil {
		return false
	}
	m.Payload = append([]byte(nil), m.Payload...)
	if m.Headers != nil {
		m.Headers = append([]byte{}, m.Headers...)
	}
	fn(&m)
	d.msgs[seq-1] = frame.AppendMessage(nil, m)
	return true
}

// deadLetter appends message seq of dest, bytes unchanged, to dest.dlq.
func (b *broker) deadLetter(dest string, seq uint64) (uint64, bool) {
	b.mu.Lock()
	d := b.mu.dests[dest]
	if d == nil || seq < 1 || seq > uint64(len(d.msgs)) {
		b.mu.Unlock()
		return 0, false
	}
	raw := d.msgs[seq-1]
	dlq := b.destLocked(dest + frame.DeadLetterSuffix)
	dlq.last++
	dlq.msgs = append(dlq.msgs, raw)
	dlq.ids[[16]byte(raw[:16])] = dlq.last
	n := dlq.last
	b.mu.Unlock()
	b.wake(dest + frame.DeadLetterSuffix)
	return n, true
}

// stopLocked stops the timer of a parked fetch being removed.
func (b *broker) stopLocked(p *parked) {
	if p.timer.Stop() {
		b.timers.Done()
	}
}

// notLeader answers NOT_LEADER to the fetches parked on s's connections
// for destinations whose partition s no longer leads.
func (b *broker) notLeader(s *Server) {
	var gone []*parked
	b.mu.Lock()
	b.mu.parked = slices.DeleteFunc(b.mu.parked, func(p *parked) bool {
		if p.c.s != s || s.leadsDest(p.dest) {
			return false
		}
		b.stopLocked(p)
		gone = append(gone, p)
		return true
	})
	b.mu.Unlock()
	for _, p := range gone {
		_ = p.c.Send(frame.AppendError(nil, p.corr, frame.CodeNotLeader, "partition moved"))
	}
}

// close stops every parked fetch's timer and waits for those that fired.
func (b *broker) close() {
	b.mu.Lock()
	b.mu.closed = true
	for _, p := range b.mu.parked {
		b.stopLocked(p)
	}
	b.mu.parked = nil
	b.mu.Unlock()
	b.timers.Wait()
}
