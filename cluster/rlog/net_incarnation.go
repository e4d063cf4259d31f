package rlog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// incarnation handles an incarnation message from peer from.
func (n *Net) incarnation(from string, b []byte) {
	r := n.incs.Load()
	m, err := decodeIncMessage(b)
	if err != nil || r == nil {
		n.bad.Inc()
		return
	}
	switch m.kind {
	case kindIAm:
		n.record(from, m.inc)
	case kindAsk:
		a := incMessage{kind: kindAnswer}
		if inc, ok := r.Recorded(from); ok {
			a.flags, a.inc = flagRecorded, inc
		}
		if _, ok := r.Own(); ok {
			a.flags |= flagState
		}
		if t := n.peers.Load(); t != nil {
			_ = t.Send(from, frame.TypeRaft, appendIncMessage(nil, a)) // the asker asks again
		}
	case kindAnswer:
		n.asked.Lock()
		if n.asked.answers != nil {
			n.asked.answers[from] = Answer{Recorded: m.flags&flagRecorded != 0, Incarnation: m.inc,
				HoldsState: m.flags&flagState != 0}
		}
		n.asked.Unlock()
	}
}

// SayIncarnation tells every peer this node's incarnation (the log's
// announcement loop calls it every AnnounceInterval).
func (n *Net) SayIncarnation() {
	t, r := n.peers.Load(), n.incs.Load()
	if t == nil || r == nil {
		return
	}
	inc, ok := r.Own()
	if !ok {
		return
	}
	b := appendIncMessage(nil, incMessage{kind: kindIAm, inc: inc})
	for _, s := range t.Peers() {
		_ = t.Send(s.ID, frame.TypeRaft, b)
	}
}

// DecideOptions tune Net.Decide.
type DecideOptions struct {
	// Nodes is the cluster's size, this node included.
	Nodes int
	// Every is how often the peers that have not answered are asked again.
	Every time.Duration
	// Grace is how long the answers of a majority wait for the others'
	// before the node joins on them.
	Grace time.Duration
	// Report is how often what the node waits for is logged.
	Report time.Duration
	// Abort, when closed, ends the wait as ctx would.
	Abort <-chan struct{}
}

// Decide works out and stores the incarnation of a node whose data
// directory holds none (SetIncarnations first, and the peer transport
// started): it asks every peer what it recorded of this node until the
// rule of Decide settles it, or ctx ends. It logs what it waits for.
func (n *Net) Decide(ctx context.Context, o DecideOptions) (uint16, error) {
	r := n.incs.Load()
	if inc, ok := r.Own(); ok {
		return inc, nil
	}
	n.asked.Lock()
	n.asked.answers = map[string]Answer{}
	n.asked.Unlock()
	defer func() {
		n.asked.Lock()
		n.asked.answers = nil
		n.asked.Unlock()
	}()
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	var majoritySince time.Time
	var lastReport time.Time
	ask := appendIncMessage(nil, incMessage{kind: kindAsk})
	for {
		n.asked.Lock()
		answers := maps.Clone(n.asked.answers)
		n.asked.Unlock()
		if len(answers)+1 > o.Nodes/2 && majoritySince.IsZero() {
			majoritySince = time.Now()
		}
		all := len(answers)+1 >= o.Nodes
		settled := !majoritySince.IsZero() && time.Since(majoritySince) >= o.Grace
		inc, ok, why, err := Decide(answers, o.Nodes, all, settled)
		switch {
		case err != nil:
			return 0, err
		case ok:
			if err := r.SetOwn(inc); err != nil {
				return 0, err
			}
			n.self.Store(RaftID(r.Self(), inc))
			n.logger.Info("incarnation decided", "incarnation", inc, "creates_cluster", inc == 0,
				"answers", fmt.Sprint(answers))
			return inc, nil
		case time.Since(lastReport) >= o.Report:
			lastReport = time.Now()
			n.logger.Warn("empty data directory: asking the peers for this node's incarnation", "waiting", why,
				"answers", len(answers))
		}
		if t := n.peers.Load(); t != nil {
			for _, s := range t.Peers() {
				if _, ok := answers[s.ID]; !ok {
					_ = t.Send(s.ID, frame.TypeRaft, ask)
				}
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no incarnation decided: %w", ctx.Err())
		case <-o.Abort:
			return 0, errors.New("swarmmq/rlog: no incarnation decided: stopped")
		case <-tick.C:
		}
	}
}

// rateLog runs a log call at most once per rateLogEvery.
type rateLog struct{ last atomic.Int64 }

const rateLogEvery = 10 * time.Second

func (l *rateLog) do(f func()) {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last < int64(rateLogEvery) || !l.last.CompareAndSwap(last, now) {
		return
	}
	f()
}
