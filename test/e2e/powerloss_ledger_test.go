package e2e

import (
	"fmt"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/client"
)

// plLedger is what the clients of a power-loss run saw before the crash:
// the model the recovered node is checked against. Events recorded before
// freeze happened before the crash clone was taken ("certain"); later ones
// may or may not be in it. Safe for concurrent use.
type plLedger struct {
	interval bool             // fsync: interval (else always)
	syncs    *metrics.Counter // swarmmq_wal_interval_syncs_total of the node under test

	mu       sync.Mutex
	frozen   bool // the crash clone is being taken
	trigger  plTrigger
	final    uint64            // syncs read at the crash
	msgs     map[string]*plMsg // by payload
	order    []*plMsg          // in publish order
	groups   map[string]*plGroup
	problems []string
}

// plTrigger takes the crash the instant an acknowledgement arrives, on the
// goroutine that received it: when pubAcks more PUBLISH_ACKs or ackOKs
// more ACK_OKs arrived, whichever comes first. A write acknowledged the
// moment before the cut is the one a wrong order (acknowledge, then sync)
// would lose.
type plTrigger struct {
	armed           bool
	pubAcks, ackOKs int
	crash           func()
	done            chan struct{} // closed once crash returned
}

// plMsg is one published message.
type plMsg struct {
	dest, payload string
	sess          client.Session // the producer session it was published in
	id            [16]byte
	idKnown       bool   // its publish callback ran
	dropped       bool   // Publish refused it: never sent
	seq           uint64 // the seq the node gave it before the crash; 0 if none seen
	acked         bool   // PUBLISH_ACK seen before the crash
	syncAt        uint64 // syncs read when that PUBLISH_ACK arrived

	// After the crash, from the retry of the message.
	retried  bool
	survived bool   // the retry was answered as a duplicate
	finalSeq uint64 // the seq the recovered node holds it under
}

// plGroup is what one consumer group of one destination acknowledged.
type plGroup struct {
	sent      map[[16]byte]bool    // an ACK was sent for the message with this id
	confirmed map[[16]byte]plAcked // ACK_OK arrived before the crash
}

type plAcked struct{ seq, syncAt uint64 }

func newLedger(interval bool, syncs *metrics.Counter) *plLedger {
	return &plLedger{interval: interval, syncs: syncs, msgs: map[string]*plMsg{}, groups: map[string]*plGroup{}}
}

func (l *plLedger) problemLocked(format string, args ...any) {
	if len(l.problems) < 50 {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

func (l *plLedger) groupLocked(dest, group string) *plGroup {
	k := dest + "/" + group
	g := l.groups[k]
	if g == nil {
		g = &plGroup{sent: map[[16]byte]bool{}, confirmed: map[[16]byte]plAcked{}}
		l.groups[k] = g
	}
	return g
}

// durableLocked reports whether a write acknowledged when the interval sync
// counter read syncAt must have survived the crash: always under fsync
// always; under fsync interval once two more interval syncs completed
// before the crash (wal package documentation, "Metrics").
func (l *plLedger) durableLocked(syncAt uint64) bool {
	return !l.interval || l.final >= syncAt+2
}

// mustSurviveLocked: m's PUBLISH_ACK makes it durable at the crash.
func (l *plLedger) mustSurviveLocked(m *plMsg) bool { return m.acked && l.durableLocked(m.syncAt) }

// sent records a message about to be published.
func (l *plLedger) sent(dest, payload string, sess client.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := &plMsg{dest: dest, payload: payload, sess: sess}
	l.msgs[payload] = m
	l.order = append(l.order, m)
}

// unsent forgets a message Publish refused (its callback never runs).
func (l *plLedger) unsent(payload string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[payload].dropped = true
	delete(l.msgs, payload)
}

// published records the outcome of a message's publish.
func (l *plLedger) published(payload string, r client.PublishResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs[payload]
	m.id, m.idKnown = r.ID, true
	if r.Err != nil {
		return
	}
	if r.Duplicate {
		l.problemLocked("%s: first publish answered as a duplicate", payload)
	}
	if m.seq != 0 && m.seq != r.Seq {
		l.problemLocked("%s: PUBLISH_ACK seq %d, delivered as seq %d", payload, r.Seq, m.seq)
	}
	m.seq = r.Seq
	if !l.frozen {
		m.acked, m.syncAt = true, l.syncs.Get()
		l.countLocked(&l.trigger.pubAcks)
	}
}

// delivered checks deliveries of the running node: known messages, one seq
// per message, and no redelivery after a confirmed ack.
func (l *plLedger) delivered(dest, group string, ds []client.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groupLocked(dest, group)
	for _, d := range ds {
		m := l.msgs[string(d.Payload)]
		switch {
		case m == nil || m.dest != dest:
			l.problemLocked("%s/%s: delivered unknown message seq %d %q", dest, group, d.Seq, d.Payload)
			continue
		case m.seq != 0 && m.seq != d.Seq:
			l.problemLocked("%s: delivered as seq %d, known as seq %d", m.payload, d.Seq, m.seq)
		}
		if _, ok := g.confirmed[d.ID]; ok {
			l.problemLocked("%s/%s: %s delivered again after its ack was confirmed", dest, group, m.payload)
		}
		m.seq = d.Seq
	}
}

// acking records that an ACK for ds is about to be sent.
func (l *plLedger) acking(dest, group string, ds []client.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groupLocked(dest, group)
	for _, d := range ds {
		g.sent[d.ID] = true
	}
}

// ackConfirmed records the ACK_OK of ds.
func (l *plLedger) ackConfirmed(dest, group string, ds []client.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.frozen {
		return
	}
	g := l.groupLocked(dest, group)
	at := l.syncs.Get()
	for _, d := range ds {
		g.confirmed[d.ID] = plAcked{seq: d.Seq, syncAt: at}
	}
	l.countLocked(&l.trigger.ackOKs)
}

// armCrash makes the ledger call crash after pubAcks more PUBLISH_ACKs or
// ackOKs more ACK_OKs, whichever come first, and returns a channel closed
// once it did. Everything recorded before is certain, everything after not.
func (l *plLedger) armCrash(pubAcks, ackOKs int, crash func()) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trigger = plTrigger{armed: true, pubAcks: pubAcks, ackOKs: ackOKs, crash: crash, done: make(chan struct{})}
	return l.trigger.done
}

// countLocked counts one acknowledgement down and crashes at zero.
func (l *plLedger) countLocked(left *int) {
	if !l.trigger.armed || l.frozen {
		return
	}
	if *left--; *left > 0 {
		return
	}
	l.frozen, l.final = true, l.syncs.Get()
	l.trigger.crash()
	close(l.trigger.done)
}

// durable counts the PUBLISH_ACKs and the acks confirmed by ACK_OK that
// would have to survive a crash now.
func (l *plLedger) durable() (pubAcks, ackOKs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.syncs.Get()
	ok := func(syncAt uint64) bool { return !l.interval || now >= syncAt+2 }
	for _, m := range l.order {
		pubAcks += b2i(m.acked && ok(m.syncAt))
	}
	for _, g := range l.groups {
		for _, a := range g.confirmed {
			ackOKs += b2i(ok(a.syncAt))
		}
	}
	return pubAcks, ackOKs
}

// syncsAtCrash returns the interval sync count at the crash.
func (l *plLedger) syncsAtCrash() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.final
}

// errors returns the problems found.
func (l *plLedger) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.problems...)
}
