package report

import (
	"cmp"
	"slices"

	"github.com/swarmmq/swarmmq/perf"
)

// Systems in the order reports show them.
const (
	Swarm = "swarmmq"
	Nats  = "nats"
)

// Agg is the median of one system's runs of one workload and durability.
type Agg struct {
	N                 int     // runs
	Rate              float64 // median msgs/s
	RateMin, RateMax  float64
	LatWhat           string  // what the latency measures; "" without one
	P50, P99, P999    float64 // medians of the runs' percentiles, µs
	Errors            int64   // summed over the runs
	Batch, Window     int
	Producers, Consum int
}

// Row is one workload and durability, both systems.
type Row struct {
	Workload, Fsync string
	Swarm, Nats     Agg
}

// RateRatio returns SwarmMQ's median rate over NATS's, 0 if either is
// missing.
func (r Row) RateRatio() float64 { return ratio(r.Swarm.Rate, r.Nats.Rate) }

// P99Ratio returns SwarmMQ's median p99 over NATS's, 0 if either is
// missing.
func (r Row) P99Ratio() float64 { return ratio(r.Swarm.P99, r.Nats.P99) }

// P50Ratio returns SwarmMQ's median p50 over NATS's, 0 if either is
// missing.
func (r Row) P50Ratio() float64 { return ratio(r.Swarm.P50, r.Nats.P50) }

func ratio(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return a / b
}

// Median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fsyncOrder sorts durability values: always first.
func fsyncOrder(f string) int {
	if f == perf.FsyncAlways {
		return 0
	}
	return 1
}

// workloadOrder sorts workloads as perf.Workloads lists them.
func workloadOrder(w string) int {
	if i := slices.Index(perf.Workloads, w); i >= 0 {
		return i
	}
	return len(perf.Workloads)
}

// Rows groups the plain runs (perf.KindRun) of reps by durability and
// workload, with each system's medians.
func Rows(reps []perf.Report) []Row {
	var rows []Row
	for k, bySys := range groupRuns(reps, func(_ perf.Report, r perf.Result) string { return r.System }) {
		rows = append(rows, Row{Workload: k.workload, Fsync: k.fsync, Swarm: aggregate(bySys[Swarm]), Nats: aggregate(bySys[Nats])})
	}
	slices.SortFunc(rows, func(a, b Row) int { return compareRuns(runKey{a.Fsync, a.Workload}, runKey{b.Fsync, b.Workload}) })
	return rows
}

// runKey is one durability and workload.
type runKey struct{ fsync, workload string }

// groupRuns groups the plain runs (perf.KindRun) of reps by durability and
// workload, and each group by side (the system, the build, …); a run whose
// side is "" is left out.
func groupRuns(reps []perf.Report, side func(perf.Report, perf.Result) string) map[runKey]map[string][]perf.Result {
	runs := map[runKey]map[string][]perf.Result{}
	for _, rep := range reps {
		for _, r := range rep.Results {
			s := side(rep, r)
			if r.Kind != perf.KindRun || s == "" {
				continue
			}
			k := runKey{r.Fsync, r.Workload}
			if runs[k] == nil {
				runs[k] = map[string][]perf.Result{}
			}
			runs[k][s] = append(runs[k][s], r)
		}
	}
	return runs
}

// compareRuns orders durability first (always before interval), then
// workloads as perf.Workloads lists them.
func compareRuns(a, b runKey) int {
	return cmp.Or(cmp.Compare(fsyncOrder(a.fsync), fsyncOrder(b.fsync)),
		cmp.Compare(workloadOrder(a.workload), workloadOrder(b.workload)), cmp.Compare(a.workload, b.workload))
}

func aggregate(rs []perf.Result) Agg {
	if len(rs) == 0 {
		return Agg{}
	}
	var rates, p50, p99, p999 []float64
	a := Agg{N: len(rs), Batch: rs[0].Batch, Window: rs[0].Window, Producers: rs[0].Producers, Consum: rs[0].Consumers}
	for _, r := range rs {
		rates = append(rates, r.Rate)
		a.Errors += r.Errors
		if r.Latency != nil {
			a.LatWhat = r.Latency.What
			p50, p99, p999 = append(p50, r.Latency.P50), append(p99, r.Latency.P99), append(p999, r.Latency.P999)
		}
	}
	a.Rate, a.RateMin, a.RateMax = Median(rates), slices.Min(rates), slices.Max(rates)
	a.P50, a.P99, a.P999 = Median(p50), Median(p99), Median(p999)
	return a
}

// Point is one step of a curve: medians over the runs of that curve.
type Point struct {
	Percent                  int
	Offered, Achieved        float64 // msgs/s
	P50, P90, P99, P999, Max float64 // µs
	LagP99                   float64 // µs
	Errors                   int64
}

// Curve is one system's open-loop curve for one workload and durability.
type Curve struct {
	System, Fsync, Workload string
	What                    string  // what the latency measures
	Max                     float64 // median closed-loop maximum, msgs/s
	N                       int     // runs merged
	Points                  []Point
}

// Curves merges the curve results (perf.KindCurve) of reps: one Curve per
// system, durability and workload, each step the median of its runs.
func Curves(reps []perf.Report) []Curve {
	type key struct{ sys, fsync, workload string }
	groups := map[key][]perf.Result{}
	for _, rep := range reps {
		for _, r := range rep.Results {
			if r.Kind == perf.KindCurve && len(r.Steps) > 0 {
				k := key{r.System, r.Fsync, r.Workload}
				groups[k] = append(groups[k], r)
			}
		}
	}
	var out []Curve
	for k, rs := range groups {
		c := Curve{System: k.sys, Fsync: k.fsync, Workload: k.workload, N: len(rs)}
		var maxes []float64
		byPct := map[int][]perf.Step{}
		for _, r := range rs {
			maxes = append(maxes, r.Rate)
			for _, s := range r.Steps {
				byPct[s.Percent] = append(byPct[s.Percent], s)
				if s.Latency != nil {
					c.What = s.Latency.What
				}
			}
		}
		c.Max = Median(maxes)
		for pct, steps := range byPct {
			c.Points = append(c.Points, mergeSteps(pct, steps))
		}
		slices.SortFunc(c.Points, func(a, b Point) int { return cmp.Compare(a.Percent, b.Percent) })
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Curve) int {
		return cmp.Or(cmp.Compare(workloadOrder(a.Workload), workloadOrder(b.Workload)),
			cmp.Compare(fsyncOrder(a.Fsync), fsyncOrder(b.Fsync)), cmp.Compare(a.System, b.System))
	})
	return out
}

func mergeSteps(pct int, steps []perf.Step) Point {
	var off, ach, p50, p90, p99, p999, mx, lag []float64
	p := Point{Percent: pct}
	for _, s := range steps {
		off, ach = append(off, s.Offered), append(ach, s.Achieved)
		p.Errors += s.Errors
		if s.Latency != nil {
			p50, p90, p99 = append(p50, s.Latency.P50), append(p90, s.Latency.P90), append(p99, s.Latency.P99)
			p999, mx = append(p999, s.Latency.P999), append(mx, s.Latency.Max)
		}
		if s.Lag != nil {
			lag = append(lag, s.Lag.P99)
		}
	}
	p.Offered, p.Achieved = Median(off), Median(ach)
	p.P50, p.P90, p.P99, p.P999, p.Max = Median(p50), Median(p90), Median(p99), Median(p999), Median(mx)
	p.LagP99 = Median(lag)
	return p
}
