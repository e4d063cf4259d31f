package cluster

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what Check found in a History. The fields that must be empty
// for a correct broker are Lost, Redelivered, StoredTwice, SeqConflicts and
// Unknown (OK reports it); Inversions, Errors and Outages are measured.
type Report struct {
	// Attempted counts the publishes handed to the client; Acked those
	// acknowledged; AckedDuplicate those acknowledged with the duplicate
	// flag (a retry of the client's recognised by the node).
	Attempted, Acked, AckedDuplicate int
	// Delivered counts deliveries; Confirmed those whose ack got ACK_OK;
	// Again the deliveries of a payload a group had been given before.
	Delivered, Confirmed, Again int
	// Unconfirmed counts (group, acknowledged publish) pairs delivered but
	// never confirmed by the end (at-least-once leaves them to be
	// delivered again; a final drain should leave none).
	Unconfirmed int
	// Lost lists acknowledged publishes some group never received.
	Lost []Loss
	// Redelivered lists deliveries fetched after the group's ack of the
	// same payload was confirmed.
	Redelivered []Redelivery
	// StoredTwice lists payloads stored under two or more seqs of one
	// destination.
	StoredTwice []Double
	// SeqConflicts lists seqs of one destination that carried two or more
	// payloads.
	SeqConflicts []Conflict
	// Unknown lists delivered payload ids no producer published.
	Unknown []Delivery
	// Inversions lists first deliveries (per group and destination) of a
	// seq lower than one first delivered before it.
	Inversions []Inversion
	// Errors counts the errors surfaced to the application by operation
	// and message.
	Errors []ErrorCount
	// Outages has one entry per fault, in order.
	Outages []Outage
}

// Loss is an acknowledged publish a group never received.
type Loss struct {
	Group, Dest, ID string
	Seq             uint64
}

// Redelivery is a delivery fetched after its group's ack of the same
// payload was confirmed.
type Redelivery struct {
	Delivery
	// AckConfirmed is when the earlier ack was confirmed.
	AckConfirmed time.Time
}

// Double is a payload stored under several seqs of one destination.
type Double struct {
	Dest, ID string
	Seqs     []uint64
}

// Conflict is a seq of one destination seen with several payloads.
type Conflict struct {
	Dest string
	Seq  uint64
	IDs  []string
}

// Inversion is a first delivery of Seq after the group had first received
// After, a higher seq of the same destination.
type Inversion struct {
	Group, Dest string
	Seq, After  uint64
}

// ErrorCount is how often the application saw one error.
type ErrorCount struct {
	Op, Err     string
	Count       int
	First, Last time.Duration // since the start of the run
}

// Outage is the longest time without an acknowledged publish of one
// destination after a fault: from the fault's start (or the last
// acknowledgement after it) to the next acknowledgement, up to the next
// fault or the end of production; the worst destination counts.
type Outage struct {
	Fault
	// At is the fault's start since the start of the run.
	At time.Duration
	// Longest is the longest gap, of destination Dest.
	Longest time.Duration
	// Dest is the destination of the longest gap.
	Dest string
	// Recovered is false when some destination had no publish
	// acknowledged after the fault before the producers stopped.
	Recovered bool
}

// OK reports whether the History shows no lost, redelivered, doubly
// stored, conflicting or unknown message.
func (r Report) OK() bool {
	return len(r.Lost) == 0 && len(r.Redelivered) == 0 && len(r.StoredTwice) == 0 &&
		len(r.SeqConflicts) == 0 && len(r.Unknown) == 0
}

// MaxOutage is the longest outage over all faults.
func (r Report) MaxOutage() time.Duration {
	var m time.Duration
	for _, o := range r.Outages {
		m = max(m, o.Longest)
	}
	return m
}

type destID struct{ dest, id string }

type groupKey struct{ group, dest, id string }

// Check checks a History. It is a pure function of h.
func Check(h History) Report {
	var r Report
	published := map[destID]Publish{}
	for _, p := range h.Publishes {
		r.Attempted++
		if p.Acked() {
			r.Acked++
			if p.Duplicate {
				r.AckedDuplicate++
			}
		}
		if old, ok := published[destID{p.Dest, p.ID}]; !ok || !old.Acked() {
			published[destID{p.Dest, p.ID}] = p
		}
	}
	r.countDeliveries(h)
	r.checkLost(h, published)
	r.checkRedelivered(h)
	r.checkSeqs(h)
	r.checkOrder(h)
	r.countErrors(h)
	r.measureOutages(h)
	return r
}

func (r *Report) countDeliveries(h History) {
	seen := map[groupKey]bool{}
	for _, d := range h.Deliveries {
		r.Delivered++
		if !d.Confirmed.IsZero() {
			r.Confirmed++
		}
		k := groupKey{d.Group, d.Dest, d.ID}
		if seen[k] {
			r.Again++
		}
		seen[k] = true
	}
}

func (r *Report) checkLost(h History, published map[destID]Publish) {
	got := map[groupKey]bool{}
	confirmed := map[groupKey]bool{}
	for _, d := range h.Deliveries {
		k := groupKey{d.Group, d.Dest, d.ID}
		got[k] = true
		if !d.Confirmed.IsZero() {
			confirmed[k] = true
		}
	}
	for k, p := range published {
		if !p.Acked() {
			continue
		}
		for _, g := range h.Groups {
			gk := groupKey{g, k.dest, k.id}
			switch {
			case !got[gk]:
				r.Lost = append(r.Lost, Loss{Group: g, Dest: k.dest, ID: k.id, Seq: p.Seq})
			case !confirmed[gk]:
				r.Unconfirmed++
			}
		}
	}
	for _, d := range h.Deliveries {
		if _, ok := published[destID{d.Dest, d.ID}]; !ok {
			r.Unknown = append(r.Unknown, d)
		}
	}
	slices.SortFunc(r.Lost, func(a, b Loss) int {
		return cmp.Or(cmp.Compare(a.Dest, b.Dest), cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Group, b.Group))
	})
}

// checkRedelivered flags a delivery whose FETCH was sent after an ack of
// the same payload by the same group was confirmed. A FETCH sent before
// the ACK_OK arrived may legitimately race it.
func (r *Report) checkRedelivered(h History) {
	confirmed := map[groupKey]time.Time{}
	for _, d := range h.Deliveries {
		if d.Confirmed.IsZero() {
			continue
		}
		k := groupKey{d.Group, d.Dest, d.ID}
		if c, ok := confirmed[k]; !ok || d.Confirmed.Before(c) {
			confirmed[k] = d.Confirmed
		}
	}
	for _, d := range h.Deliveries {
		if c, ok := confirmed[groupKey{d.Group, d.Dest, d.ID}]; ok && d.Fetched.After(c) {
			r.Redelivered = append(r.Redelivered, Redelivery{Delivery: d, AckConfirmed: c})
		}
	}
}

// checkSeqs ties payloads to seqs, from the publish acks and the
// deliveries: one payload under two seqs was stored twice; one seq with
// two payloads is a corrupt log or delivery.
func (r *Report) checkSeqs(h History) {
	seqs := map[destID][]uint64{}
	ids := map[string]map[uint64][]string{}
	add := func(dest, id string, seq uint64) {
		k := destID{dest, id}
		if !slices.Contains(seqs[k], seq) {
			seqs[k] = append(seqs[k], seq)
		}
		if ids[dest] == nil {
			ids[dest] = map[uint64][]string{}
		}
		if !slices.Contains(ids[dest][seq], id) {
			ids[dest][seq] = append(ids[dest][seq], id)
		}
	}
	for _, p := range h.Publishes {
		if p.Acked() && p.Seq != 0 {
			add(p.Dest, p.ID, p.Seq)
		}
	}
	for _, d := range h.Deliveries {
		add(d.Dest, d.ID, d.Seq)
	}
	for k, ss := range seqs {
		if len(ss) > 1 {
			slices.Sort(ss)
			r.StoredTwice = append(r.StoredTwice, Double{Dest: k.dest, ID: k.id, Seqs: ss})
		}
	}
	for dest, m := range ids {
		for seq, is := range m {
			if len(is) > 1 {
				slices.Sort(is)
				r.SeqConflicts = append(r.SeqConflicts, Conflict{Dest: dest, Seq: seq, IDs: is})
			}
		}
	}
	slices.SortFunc(r.StoredTwice, func(a, b Double) int { return cmp.Or(cmp.Compare(a.Dest, b.Dest), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(r.SeqConflicts, func(a, b Conflict) int { return cmp.Or(cmp.Compare(a.Dest, b.Dest), cmp.Compare(a.Seq, b.Seq)) })
}

// checkOrder walks each group's deliveries of each destination in the
// order they arrived (the recorded order: one consumer per group and
// destination) and flags a first delivery below the highest seq first
// delivered before it.
func (r *Report) checkOrder(h History) {
	type gd struct{ group, dest string }
	high := map[gd]uint64{}
	seen := map[gd]map[uint64]bool{}
	for _, d := range h.Deliveries {
		k := gd{d.Group, d.Dest}
		if seen[k] == nil {
			seen[k] = map[uint64]bool{}
		}
		if seen[k][d.Seq] {
			continue
		}
		seen[k][d.Seq] = true
		if d.Seq < high[k] {
			r.Inversions = append(r.Inversions, Inversion{Group: d.Group, Dest: d.Dest, Seq: d.Seq, After: high[k]})
		}
		high[k] = max(high[k], d.Seq)
	}
}

// Errors are grouped by operation and message, with the parts that vary
// between workers and connections (destination, group, address) replaced.
var (
	addrPattern      = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`)
	namesPattern     = regexp.MustCompile(`(from|to|on) \S+ for group \S+:|(publish to|ack of) \S+:`)
	payloadPattern   = regexp.MustCompile(`^[A-Za-z0-9]+-\d+: `)
	partitionPattern = regexp.MustCompile(`partition \d+`)
	nodePattern      = regexp.MustCompile(`\bnode-\d+\b`)
)

func generalise(msg string) string {
	msg = payloadPattern.ReplaceAllString(msg, "")
	msg = addrPattern.ReplaceAllString(msg, "<addr>")
	msg = partitionPattern.ReplaceAllString(msg, "partition <p>")
	msg = nodePattern.ReplaceAllString(msg, "<node>")
	return namesPattern.ReplaceAllStringFunc(msg, func(m string) string {
		if strings.Contains(m, " for group ") {
			return strings.Fields(m)[0] + " <dest> for group <group>:"
		}
		return strings.Fields(m)[0] + " " + strings.Fields(m)[1] + " <dest>:"
	})
}

func (r *Report) countErrors(h History) {
	type key struct{ op, err string }
	idx := map[key]int{}
	for _, e := range h.Errors {
		k := key{e.Op, generalise(e.Err)}
		at := e.At.Sub(h.Start)
		i, ok := idx[k]
		if !ok {
			i = len(r.Errors)
			idx[k] = i
			r.Errors = append(r.Errors, ErrorCount{Op: e.Op, Err: k.err, First: at})
		}
		r.Errors[i].Count++
		r.Errors[i].Last = at
	}
}

// measureOutages measures, after each fault, the longest time without an
// acknowledged publish of each destination, and keeps the worst
// destination: a fault that takes one partition's leader stops that
// partition's destinations while the others go on.
func (r *Report) measureOutages(h History) {
	acks := map[string][]time.Time{}
	for _, p := range h.Publishes {
		if p.Acked() {
			acks[p.Dest] = append(acks[p.Dest], p.At)
		}
	}
	dests := slices.Sorted(maps.Keys(acks))
	for _, d := range dests {
		slices.SortFunc(acks[d], func(a, b time.Time) int { return a.Compare(b) })
	}
	faults := slices.Clone(h.Faults)
	slices.SortStableFunc(faults, func(a, b Fault) int { return a.Start.Compare(b.Start) })
	end := h.ProduceEnd
	for i, f := range faults {
		until := end
		if i+1 < len(faults) {
			until = faults[i+1].Start
		}
		o := Outage{Fault: f, At: f.Start.Sub(h.Start), Recovered: true}
		if len(dests) == 0 {
			o.Longest, o.Recovered = max(end.Sub(f.Start), 0), false
		}
		for _, d := range dests {
			gap, recovered := outageAfter(f.Start, acks[d], until, end)
			o.Recovered = o.Recovered && recovered
			if gap > o.Longest || o.Dest == "" {
				o.Longest, o.Dest = gap, d
			}
		}
		r.Outages = append(r.Outages, o)
	}
}

// outageAfter measures the longest gap between acks from start up to
// until; if no ack came in that window, the gap runs to the first ack
// after it (or to end, unrecovered).
func outageAfter(start time.Time, acks []time.Time, until, end time.Time) (longest time.Duration, recovered bool) {
	i, _ := slices.BinarySearchFunc(acks, start, func(a, t time.Time) int { return a.Compare(t) })
	prev := start
	for ; i < len(acks); i++ {
		a := acks[i]
		if recovered && !a.Before(until) {
			break
		}
		longest = max(longest, a.Sub(prev))
		recovered = true
		prev = a
	}
	if !recovered {
		longest = max(end.Sub(start), 0)
	}
	return longest, recovered
}

// KindOutage summarises the publish outages after the faults of one kind.
type KindOutage struct {
	Kind FaultKind
	// Faults counts the faults of the kind; Unrecovered those after which
	// some destination had no acknowledged publish before production ended.
	Faults, Unrecovered int
	// Median and Max are over the faults' outages.
	Median, Max time.Duration
}

// ByKind summarises the outages per fault kind, in order of first
// occurrence.
func (r Report) ByKind() []KindOutage {
	var kinds []FaultKind
	gaps := map[FaultKind][]time.Duration{}
	unrecovered := map[FaultKind]int{}
	for _, o := range r.Outages {
		if _, ok := gaps[o.Kind]; !ok {
			kinds = append(kinds, o.Kind)
		}
		gaps[o.Kind] = append(gaps[o.Kind], o.Longest)
		if !o.Recovered {
			unrecovered[o.Kind]++
		}
	}
	out := make([]KindOutage, len(kinds))
	for i, k := range kinds {
		g := gaps[k]
		slices.Sort(g)
		out[i] = KindOutage{Kind: k, Faults: len(g), Unrecovered: unrecovered[k], Median: g[(len(g)-1)/2], Max: g[len(g)-1]}
	}
	return out
}

// Table prints the report as aligned tables: the checks with what each
// must be, then one line per fault, then the errors.
func (r Report) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	verdict := func(n int) string {
		if n == 0 {
			return "ok"
		}
		return "FAIL"
	}
	fmt.Fprintf(w, "check\tcount\tmust be\tverdict\n")
	fmt.Fprintf(w, "publishes attempted\t%d\t\t\n", r.Attempted)
	fmt.Fprintf(w, "publishes acknowledged\t%d\t\t\n", r.Acked)
	fmt.Fprintf(w, "  of which retries recognised (duplicate flag)\t%d\t\t\n", r.AckedDuplicate)
	fmt.Fprintf(w, "deliveries\t%d\t\t\n", r.Delivered)
	fmt.Fprintf(w, "  with ack confirmed\t%d\t\t\n", r.Confirmed)
	fmt.Fprintf(w, "  again before a confirmed ack (at-least-once)\t%d\t\t\n", r.Again-len(r.Redelivered))
	fmt.Fprintf(w, "acknowledged, delivered, never confirmed at the end\t%d\t\t\n", r.Unconfirmed)
	fmt.Fprintf(w, "acknowledged publishes lost\t%d\t0\t%s\n", len(r.Lost), verdict(len(r.Lost)))
	fmt.Fprintf(w, "delivered again after a confirmed ack\t%d\t0\t%s\n", len(r.Redelivered), verdict(len(r.Redelivered)))
	fmt.Fprintf(w, "payloads stored twice (2+ seqs)\t%d\t0\t%s\n", len(r.StoredTwice), verdict(len(r.StoredTwice)))
	fmt.Fprintf(w, "seqs with 2+ payloads\t%d\t0\t%s\n", len(r.SeqConflicts), verdict(len(r.SeqConflicts)))
	fmt.Fprintf(w, "deliveries of unknown payloads\t%d\t0\t%s\n", len(r.Unknown), verdict(len(r.Unknown)))
	fmt.Fprintf(w, "first deliveries out of seq order\t%d\t\t\n", len(r.Inversions))
	fmt.Fprintf(w, "errors surfaced to the application\t%d\t\t\n", r.errorTotal())
	fmt.Fprintf(w, "faults\t%d\t\t\n", len(r.Outages))
	fmt.Fprintf(w, "longest publish outage after a fault\t%s\t\t\n", r.MaxOutage().Round(time.Millisecond))
	_ = w.Flush()
	if len(r.Outages) > 0 {
		b.WriteString("\n")
		w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "#\tfault\tnode\tat\tnode back after\tpublish outage\tworst destination\n")
		for i, o := range r.Outages {
			back := "never"
			if !o.Healed.IsZero() {
				back = o.Healed.Sub(o.Start).Round(time.Millisecond).String()
			}
			out := o.Longest.Round(time.Millisecond).String()
			if !o.Recovered {
				out += " (no ack after it)"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, o.Kind, o.Node, o.At.Round(time.Millisecond), back, out, o.Dest)
		}
		_ = w.Flush()
		b.WriteString("\n")
		w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "fault kind\tfaults\tmedian publish outage\tlongest\tno ack after it\n")
		for _, k := range r.ByKind() {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%d\n", k.Kind, k.Faults, k.Median.Round(time.Millisecond), k.Max.Round(time.Millisecond), k.Unrecovered)
		}
		_ = w.Flush()
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n")
		w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "op\tcount\tfirst\tlast\terror\n")
		// The most frequent first; the rest summed up.
		errs := slices.Clone(r.Errors)
		slices.SortStableFunc(errs, func(a, b ErrorCount) int { return cmp.Compare(b.Count, a.Count) })
		for _, e := range errs[:min(len(errs), maxErrorRows)] {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", e.Op, e.Count, e.First.Round(time.Millisecond), e.Last.Round(time.Millisecond), clip(e.Err, 100))
		}
		_ = w.Flush()
		if rest := errs[min(len(errs), maxErrorRows):]; len(rest) > 0 {
			n := 0
			for _, e := range rest {
				n += e.Count
			}
			fmt.Fprintf(&b, "… and %d more errors of %d other kinds\n", n, len(rest))
		}
	}
	r.writeExamples(&b)
	return b.String()
}

// maxErrorRows bounds the error rows Table prints.
const maxErrorRows = 15

func (r Report) errorTotal() int {
	n := 0
	for _, e := range r.Errors {
		n += e.Count
	}
	return n
}

// writeExamples lists the first few violations of each kind.
func (r Report) writeExamples(b *strings.Builder) {
	const show = 5
	for i, l := range r.Lost[:min(show, len(r.Lost))] {
		fmt.Fprintf(b, "%slost: group %s never got %s/%s (acked seq %d)\n", nl(i), l.Group, l.Dest, l.ID, l.Seq)
	}
	for i, d := range r.Redelivered[:min(show, len(r.Redelivered))] {
		fmt.Fprintf(b, "%sredelivered: %s/%s seq %d to group %s, fetched %s after its ack was confirmed\n", nl(i),
			d.Dest, d.ID, d.Seq, d.Group, d.Fetched.Sub(d.AckConfirmed).Round(time.Microsecond))
	}
	for i, d := range r.StoredTwice[:min(show, len(r.StoredTwice))] {
		fmt.Fprintf(b, "%sstored twice: %s/%s at seqs %v\n", nl(i), d.Dest, d.ID, d.Seqs)
	}
	for i, c := range r.SeqConflicts[:min(show, len(r.SeqConflicts))] {
		fmt.Fprintf(b, "%sseq conflict: %s seq %d carried %v\n", nl(i), c.Dest, c.Seq, c.IDs)
	}
	for i, d := range r.Unknown[:min(show, len(r.Unknown))] {
		fmt.Fprintf(b, "%sunknown: %s seq %d payload %q to group %s\n", nl(i), d.Dest, d.Seq, d.ID, d.Group)
	}
	for i, v := range r.Inversions[:min(show, len(r.Inversions))] {
		fmt.Fprintf(b, "%sout of order: group %s got %s seq %d first after seq %d\n", nl(i), v.Group, v.Dest, v.Seq, v.After)
	}
}

func nl(i int) string {
	if i == 0 {
		return "\n"
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// DefaultOutageBound is the longest publish outage the cluster is built
// for after a fault of a BoundedKinds kind: the issue's 1.5 s. `make
// chaos` enforces it (CHAOS_MAX_OUTAGE overrides it).
const DefaultOutageBound = 1500 * time.Millisecond

// BoundedKinds are the faults whose outage DefaultOutageBound bounds: the
// leader killed, paused or isolated. The others are reported only (a
// follower's faults stop nothing; a clean restart hands over by election
// too but is not in the bound).
var BoundedKinds = []FaultKind{FaultKillLeader, FaultPauseLeader, FaultIsolateLeader}

// OverBound returns the outages after faults of the given kinds that
// lasted longer than bound, in the order of the faults.
func (r Report) OverBound(kinds []FaultKind, bound time.Duration) []Outage {
	var out []Outage
	for _, o := range r.Outages {
		if slices.Contains(kinds, o.Kind) && o.Longest > bound {
			out = append(out, o)
		}
	}
	return out
}
