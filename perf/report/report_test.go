package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/perf"
)

func TestMedian(t *testing.T) {
	f := func(xs []float64, want float64) {
		t.Helper()
		if got := Median(xs); got != want {
			t.Errorf("Median(%v) = %v, want %v", xs, got, want)
		}
	}
	f(nil, 0)
	f([]float64{3}, 3)
	f([]float64{3, 1, 2}, 2)
	f([]float64{4, 1, 3, 2}, 2.5)
}

// rep makes a one-result report.
func rep(sys, fsync, workload string, rate, p50, p99 float64) perf.Report {
	r := perf.Result{System: sys, Fsync: fsync, Workload: workload, Kind: perf.KindRun, Size: 128, Rate: rate, Msgs: int64(rate)}
	if p50 > 0 {
		r.Latency = &perf.Latency{What: perf.LatPublish, P50: p50, P99: p99}
	}
	return perf.Report{Machine: perf.Machine{CPU: "Test CPU", Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26"},
		Command: []string{"bench", sys}, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Target: perf.TargetInfo{System: sys, Fsync: fsync, Config: "cfg-" + sys + "; data in /tmp/x",
			Notes: map[string]string{workload: "how " + sys + " does it"}},
		Results: []perf.Result{r}}
}

func curveRep(sys string, max float64, p99s ...float64) perf.Report {
	r := rep(sys, perf.FsyncAlways, perf.WorkE2E, max, 0, 0)
	r.Results[0].Kind = perf.KindCurve
	for i, p99 := range p99s {
		pct := 50 * (i + 1)
		r.Results[0].Steps = append(r.Results[0].Steps, perf.Step{Percent: pct, Offered: max * float64(pct) / 100,
			Achieved: max * float64(pct) / 100, Latency: &perf.Latency{What: perf.LatE2E, P50: p99 / 2, P99: p99},
			Lag: &perf.Latency{What: perf.LatLag, P99: 3}})
	}
	return r
}

func sample() []perf.Report {
	return []perf.Report{
		rep(Swarm, perf.FsyncAlways, perf.WorkPublish, 300_000, 100, 400),
		rep(Swarm, perf.FsyncAlways, perf.WorkPublish, 200_000, 120, 500),
		rep(Swarm, perf.FsyncAlways, perf.WorkPublish, 250_000, 110, 450),
		rep(Nats, perf.FsyncAlways, perf.WorkPublish, 5_000, 1000, 2000),
		rep(Nats, perf.FsyncAlways, perf.WorkPublish, 6_000, 1100, 2200),
		rep(Swarm, perf.FsyncInterval, perf.WorkConsume, 400_000, 0, 0),
		rep(Nats, perf.FsyncInterval, perf.WorkConsume, 100_000, 0, 0),
		curveRep(Swarm, 100_000, 300, 900),
		curveRep(Nats, 10_000, 2000, 8000),
		curveRep(Nats, 12_000, 4000, 6000),
	}
}

func TestRows(t *testing.T) {
	rows := Rows(sample())
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	pub := rows[0]
	if pub.Workload != perf.WorkPublish || pub.Fsync != perf.FsyncAlways {
		t.Fatalf("first row %s/%s, want publish/always", pub.Workload, pub.Fsync)
	}
	if pub.Swarm.N != 3 || pub.Swarm.Rate != 250_000 || pub.Swarm.RateMin != 200_000 || pub.Swarm.RateMax != 300_000 {
		t.Fatalf("SwarmMQ aggregate %+v", pub.Swarm)
	}
	if pub.Nats.Rate != 5_500 || pub.Swarm.P99 != 450 || pub.Nats.P99 != 2100 {
		t.Fatalf("medians: %+v %+v", pub.Swarm, pub.Nats)
	}
	if r := pub.RateRatio(); r != 250_000.0/5_500 {
		t.Fatalf("rate ratio %v", r)
	}
	if rows[1].P99Ratio() != 0 || rows[1].RateRatio() != 4 {
		t.Fatalf("consume row %+v", rows[1])
	}
}

func TestCurves(t *testing.T) {
	cs := Curves(sample())
	if len(cs) != 2 || cs[0].System != Nats || cs[1].System != Swarm {
		t.Fatalf("curves %+v", cs)
	}
	n := cs[0]
	if n.N != 2 || n.Max != 11_000 || len(n.Points) != 2 || n.Points[0].P99 != 3000 || n.Points[1].P99 != 7000 {
		t.Fatalf("merged NATS curve %+v", n)
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, Curves(sample())); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	polylines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines != 4 { // p50 and p99 of two systems
		t.Fatalf("%d polylines, want 4", polylines)
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sample(), "make bench-compare"); err != nil {
		t.Fatal(err)
	}
	requireLines(t, b.String(),
		"Test CPU, 2 cores",
		"`make bench-compare`",
		"| ack after fsync | publish | 250.0k (200.0k–300.0k) | 5.50k (5.00k–6.00k) | **45×** | publish-ack | 110 / 450 | 1050 / 2100 | **0.21×** | 3 / 2 |",
		"| periodic sync | consume | 400.0k | 100.0k | **4.00×** | — |",
		"![latency against achieved throughput](curves.svg)",
		"how swarmmq does it", "how nats does it",
		"`cfg-swarmmq`")
}

// writeReports writes each report as swarmbench would and returns the
// result files.
func writeReports(t *testing.T, reps []perf.Report) []string {
	t.Helper()
	in := t.TempDir()
	var files []string
	for i, r := range reps {
		written, err := r.WriteFiles(in, "r"+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, written[0])
	}
	return files
}

// requireLines fails t for each of wants that md lacks.
func requireLines(t *testing.T, md string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("README lacks %q\n%s", want, md)
		}
	}
}

func TestWrite(t *testing.T) {
	files := writeReports(t, sample())
	out := filepath.Join(t.TempDir(), "perf")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "profile.md"), []byte("# profile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(out, files, "x", io.Discard); err != nil {
		t.Fatal(err)
	}
	if md, _ := os.ReadFile(filepath.Join(out, "README.md")); !strings.Contains(string(md), "(profile.md)") {
		t.Fatal("README.md does not link the profile.md next to it")
	}
	for _, name := range []string{"results.json", "results.csv", "curves.svg", "README.md"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
