package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// retryBatch is the most messages of one retried PUBLISH.
const retryBatch = 200

// retryAll publishes every message sent before the crash again, with its
// id, in its producer's session (resumed with the session's token on a
// raw connection to the recovered node), as a producer that never got (or
// lost) its answer would. A message whose PUBLISH_ACK, or a group's
// ACK_OK, made it durable must be answered as a duplicate; any message
// answered as a duplicate must keep the seq it had before.
func (l *plLedger) retryAll(t *testing.T, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	type key struct {
		sess client.Session
		dest string
	}
	var keys []key
	byKey := map[key][]*plMsg{}
	for _, m := range l.order {
		switch {
		case m.dropped:
			continue
		case !m.idKnown:
			l.problemLocked("%s: its publish callback never ran", m.payload)
			continue
		}
		k := key{m.sess, m.dest}
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], m)
	}
	conns := map[client.Session]*nodetest.Raw{}
	for _, k := range keys {
		r := conns[k.sess]
		if r == nil {
			r = nodetest.Handshake(t, addr)
			if _, code := producerSession(t, r, frame.Producer{ID: k.sess.ID, Token: k.sess.Token}); code != frame.CodeOK {
				t.Fatalf("resuming producer session %d: %s", k.sess.ID, code)
			}
			conns[k.sess] = r
		}
		for ms := byKey[k]; len(ms) > 0; {
			n := min(len(ms), retryBatch)
			l.retryLocked(t, r, k.sess.ID, k.dest, ms[:n])
			ms = ms[n:]
		}
	}
	for _, r := range conns {
		r.Close()
	}
}

func (l *plLedger) retryLocked(t *testing.T, r *nodetest.Raw, producer uint64, dest string, ms []*plMsg) {
	t.Helper()
	msgs := make([]frame.Message, len(ms))
	now := time.Now().UnixNano()
	for i, m := range ms {
		msgs[i] = frame.Message{ID: m.id, Timestamp: now, Producer: producer, Payload: []byte(m.payload)}
	}
	acks, code := publishSession(t, r, dest, msgs...)
	if code != frame.CodeOK {
		t.Fatalf("retry in session %d answered %s", producer, code)
	}
	for i, e := range acks {
		l.checkRetryLocked(ms[i], e)
	}
}

func (l *plLedger) checkRetryLocked(m *plMsg, e frame.AckEntry) {
	m.retried, m.finalSeq = true, e.Seq
	switch {
	case e.Code != frame.CodeOK:
		l.problemLocked("%s: retry answered %s", m.payload, e.Code)
	case e.Duplicate():
		m.survived = true
		if m.seq != 0 && e.Seq != m.seq {
			l.problemLocked("%s: was seq %d before the crash, seq %d after", m.payload, m.seq, e.Seq)
		}
	case l.mustSurviveLocked(m):
		l.problemLocked("%s: acknowledged as seq %d (interval syncs %d at the ack, %d at the crash) and lost",
			m.payload, m.seq, m.syncAt, l.final)
	default:
		for k, g := range l.groups {
			if a, ok := g.confirmed[m.id]; ok && l.durableLocked(a.syncAt) {
				l.problemLocked("%s: lost although %s confirmed its ack of seq %d", m.payload, k, a.seq)
			}
		}
	}
}

// drainCheck consumes and acks every message group gets from dest on the
// recovered node, and checks that it gets each message it had not
// acknowledged exactly once, with its seq, and none whose ACK_OK was
// durable before the crash.
func (l *plLedger) drainCheck(t *testing.T, c *client.Client, dest, group string) {
	t.Helper()
	ctx := ctxT(t)
	seen := map[[16]byte]bool{}
	for {
		ds, err := c.Fetch(ctx, dest, group, 1000, 0)
		if err != nil {
			t.Fatalf("drain %s/%s: %v", dest, group, err)
		}
		if len(ds) == 0 {
			break
		}
		l.checkDrained(dest, group, ds, seen)
		seqs := make([]uint64, len(ds))
		for i, d := range ds {
			seqs[i] = d.Seq
		}
		if err := c.Ack(ctx, dest, group, seqs...); err != nil {
			t.Fatalf("drain %s/%s: %v", dest, group, err)
		}
	}
	l.checkAllDrained(dest, group, seen)
}

func (l *plLedger) checkDrained(dest, group string, ds []client.Delivery, seen map[[16]byte]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groupLocked(dest, group)
	for _, d := range ds {
		m := l.msgs[string(d.Payload)]
		switch {
		case m == nil || m.dest != dest || !m.retried:
			l.problemLocked("%s/%s: recovered node delivered unknown message seq %d %q", dest, group, d.Seq, d.Payload)
			continue
		case m.id != d.ID:
			l.problemLocked("%s: delivered with id %x, published with %x", m.payload, d.ID, m.id)
		case seen[d.ID]:
			l.problemLocked("%s/%s: %s delivered twice (stored twice?)", dest, group, m.payload)
		case d.Seq != m.finalSeq:
			l.problemLocked("%s: delivered as seq %d, its retry said seq %d", m.payload, d.Seq, m.finalSeq)
		}
		if a, ok := g.confirmed[d.ID]; ok && l.durableLocked(a.syncAt) {
			l.problemLocked("%s/%s: %s delivered again after the crash, its ack (seq %d) was confirmed before",
				dest, group, m.payload, a.seq)
		}
		seen[d.ID] = true
	}
}

func (l *plLedger) checkAllDrained(dest, group string, seen map[[16]byte]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groupLocked(dest, group)
	for _, m := range l.order {
		if m.dropped || !m.retried || m.dest != dest || seen[m.id] {
			continue
		}
		// Not delivered: fine only if the group acked the stored message.
		if !m.survived || !g.sent[m.id] {
			l.problemLocked("%s/%s: %s (seq %d) never delivered, and the group never acked it",
				dest, group, m.payload, m.finalSeq)
		}
	}
}

// plStats sums up a run, to show what the checks covered.
type plStats struct {
	sent, acked, mustSurvive, survived, lostAcked int
	acksConfirmed, acksDurable                    int
}

func (s plStats) String() string {
	return fmt.Sprintf("sent %d, publish-acked %d (must survive %d), survived %d, acked and lost (allowed) %d; "+
		"acks confirmed %d (must survive %d)", s.sent, s.acked, s.mustSurvive, s.survived, s.lostAcked,
		s.acksConfirmed, s.acksDurable)
}

func (l *plLedger) stats() plStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s plStats
	for _, m := range l.order {
		if m.dropped {
			continue
		}
		s.sent++
		s.acked += b2i(m.acked)
		s.mustSurvive += b2i(l.mustSurviveLocked(m))
		s.survived += b2i(m.survived)
		s.lostAcked += b2i(m.acked && !m.survived)
	}
	for _, g := range l.groups {
		for _, a := range g.confirmed {
			s.acksConfirmed++
			s.acksDurable += b2i(l.durableLocked(a.syncAt))
		}
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
