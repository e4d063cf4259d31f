package perf

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{
	"system", "fsync", "workload", "kind", "label", "step_percent", "offered", "rate", "msgs", "errors", "seconds", "mbps",
	"size", "batch", "window", "ack_window", "producers", "consumers",
	"latency", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us", "lag_p50_us", "lag_p99_us",
	"cpu", "cores", "gomaxprocs", "go", "started", "command",
}

// WriteCSV writes one row per result and one per curve step (kind
// "curve-step"; the curve's closed-loop reference is kind "curve-max"),
// each with the machine and the command line.
func WriteCSV(w io.Writer, reps []Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, rep := range reps {
		for _, r := range rep.Results {
			kind := r.Kind
			if kind == KindCurve {
				kind = "curve-max"
			}
			rows := [][]string{csvRow(rep, r, kind, "", r.Offered, r.Rate, r.Msgs, r.Errors, r.Seconds, r.Latency, r.Lag)}
			for _, s := range r.Steps {
				rows = append(rows, csvRow(rep, r, "curve-step", strconv.Itoa(s.Percent), s.Offered, s.Achieved,
					s.Msgs, s.Errors, s.Seconds, s.Latency, s.Lag))
			}
			if err := cw.WriteAll(rows); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(rep Report, r Result, kind, pct string, offered, rate float64, msgs, errs int64, secs float64, lat, lag *Latency) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	i := strconv.Itoa
	mbps := rate * float64(r.Size) / 1e6
	row := []string{r.System, r.Fsync, r.Workload, kind, r.Label, pct, f1(offered), f1(rate), strconv.FormatInt(msgs, 10),
		strconv.FormatInt(errs, 10), f(secs), f1(mbps), i(r.Size), i(r.Batch), i(r.Window), i(r.AckWindow), i(r.Producers), i(r.Consumers)}
	if lat != nil {
		row = append(row, lat.What, f1(lat.P50), f1(lat.P90), f1(lat.P99), f1(lat.P999), f1(lat.Max), f1(lat.Mean))
	} else {
		row = append(row, "", "", "", "", "", "", "")
	}
	if lag != nil {
		row = append(row, f1(lag.P50), f1(lag.P99))
	} else {
		row = append(row, "", "")
	}
	m := rep.Machine
	return append(row, m.CPU, i(m.Cores), i(m.GOMAXPROCS), m.GoVersion, rep.Started.UTC().Format(time.RFC3339),
		strings.Join(rep.Command, " "))
}

// WriteTable writes rep as a table for people.
func WriteTable(w io.Writer, rep Report) error {
	m := rep.Machine
	fmt.Fprintf(w, "%s %s (%s), fsync %s — %s, %d cores, GOMAXPROCS %d, %s\n",
		rep.Target.System, rep.Target.Version, embeddedWord(rep.Target.Embedded), rep.Target.Fsync,
		m.CPU, m.Cores, m.GOMAXPROCS, m.GoVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tload\tmsgs\terrors\tsecs\tmsgs/s\tMB/s\tlatency\tp50 µs\tp90 µs\tp99 µs\tp99.9 µs\tmax µs\tlag p99 µs\t")
	for _, r := range rep.Results {
		load := "max"
		if r.Offered > 0 {
			load = Human(r.Offered)
		}
		tableRow(tw, r.Workload, load, r.Msgs, r.Errors, r.Seconds, r.Rate, r.Size, r.Latency, r.Lag)
		for _, s := range r.Steps {
			tableRow(tw, "", fmt.Sprintf("%d%% %s", s.Percent, Human(s.Offered)), s.Msgs, s.Errors, s.Seconds, s.Achieved, r.Size, s.Latency, s.Lag)
		}
	}
	return tw.Flush()
}

func tableRow(w io.Writer, name, load string, msgs, errs int64, secs, rate float64, size int, lat, lag *Latency) {
	fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%.2f\t%s\t%.1f\t", name, load, msgs, errs, secs, Human(rate), rate*float64(size)/1e6)
	if lat != nil {
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t", lat.What, lat.P50, lat.P90, lat.P99, lat.P999, lat.Max)
	} else {
		fmt.Fprint(w, "-\t\t\t\t\t\t")
	}
	if lag != nil {
		fmt.Fprintf(w, "%.0f\t\n", lag.P99)
	} else {
		fmt.Fprint(w, "\t\n")
	}
}

func embeddedWord(e bool) string {
	if e {
		return "embedded"
	}
	return "external"
}

// Human formats a rate: 950, 12.3k, 1.25M.
func Human(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 2, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
