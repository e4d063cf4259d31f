package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swarmmq/swarmmq/perf"
)

// abRep makes a one-result SwarmMQ report labelled as perf/ab.sh labels it.
func abRep(label, fsync, workload string, rate, p50, p99 float64) perf.Report {
	r := rep(Swarm, fsync, workload, rate, p50, p99)
	r.Results[0].Label = label
	return r
}

func abSample() []perf.Report {
	return []perf.Report{
		abRep("base round=1", perf.FsyncAlways, perf.WorkPublish, 100_000, 100, 400),
		abRep("head round=1", perf.FsyncAlways, perf.WorkPublish, 90_000, 110, 500),
		abRep("head round=2", perf.FsyncAlways, perf.WorkPublish, 98_000, 100, 420),
		abRep("base round=2", perf.FsyncAlways, perf.WorkPublish, 104_000, 90, 380),
		abRep("base round=1", perf.FsyncInterval, perf.WorkConsume, 50_000, 0, 0),
		abRep("head round=1", perf.FsyncInterval, perf.WorkConsume, 49_000, 0, 0),
		abRep("round=1", perf.FsyncAlways, perf.WorkPublish, 1, 1, 1),          // names no build: left out
		rep(Nats, perf.FsyncAlways, perf.WorkPublish, 5_000, 1000, 2000),       // not SwarmMQ: left out
		abRep("baseline round=1", perf.FsyncAlways, perf.WorkPublish, 7, 1, 1), // not a build name
	}
}

func TestABRows(t *testing.T) {
	rows := ABRows(abSample())
	if len(rows) != 2 {
		t.Fatalf("rows = %+v, want publish (always) and consume (interval)", rows)
	}
	pub, con := rows[0], rows[1]
	if pub.Fsync != perf.FsyncAlways || pub.Workload != perf.WorkPublish || con.Workload != perf.WorkConsume {
		t.Fatalf("order: %+v", rows)
	}
	if pub.Base.N != 2 || pub.Base.Rate != 102_000 || pub.Head.N != 2 || pub.Head.Rate != 94_000 {
		t.Fatalf("publish = %+v", pub)
	}
	if got := pub.RateRatio(); got < 0.9215 || got > 0.9216 { // 94k / 102k
		t.Fatalf("rate ratio %v, want 94k/102k", got)
	}
	if got := pub.P99Ratio(); got < 1.179 || got > 1.180 { // 460 / 390
		t.Fatalf("p99 ratio %v, want 460/390", got)
	}
	if got := con.RateRatio(); got != 0.98 {
		t.Fatalf("consume rate ratio %v, want 0.98", got)
	}
	if pub.Pairs != 2 || pub.Paired < 0.9211 || pub.Paired > 0.9212 { // (0.9 + 98/104) / 2
		t.Fatalf("publish paired %v over %d rounds, want the mean of 0.9 and 98/104 over 2", pub.Paired, pub.Pairs)
	}
	if got := pub.Ratio(); got != pub.RateRatio() {
		t.Fatalf("with 2 pairs the row is judged by %v, want the rate ratio %v", got, pub.RateRatio())
	}
}

// TestABPaired: a round in which the head alone ran on a loaded machine
// drags the ratio of the medians down, not the paired ratio, which judges
// a row of three rounds or more.
func TestABPaired(t *testing.T) {
	reps := []perf.Report{
		abRep("base round=1", perf.FsyncAlways, perf.WorkConsume, 100_000, 0, 0),
		abRep("head round=1", perf.FsyncAlways, perf.WorkConsume, 99_000, 0, 0),
		abRep("head round=2", perf.FsyncAlways, perf.WorkConsume, 100_000, 0, 0),
		abRep("base round=2", perf.FsyncAlways, perf.WorkConsume, 150_000, 0, 0),
		abRep("base round=3", perf.FsyncAlways, perf.WorkConsume, 200_000, 0, 0),
		abRep("head round=3", perf.FsyncAlways, perf.WorkConsume, 199_000, 0, 0),
		abRep("head round=4", perf.FsyncAlways, perf.WorkConsume, 180_000, 0, 0), // no base round 4: unpaired
	}
	rows := ABRows(reps)
	if len(rows) != 1 {
		t.Fatalf("rows = %+v", rows)
	}
	r := rows[0]
	if r.Pairs != 3 || r.Paired != 0.99 || r.Ratio() != 0.99 {
		t.Fatalf("paired %v over %d rounds, judged by %v; want 0.99 over 3", r.Paired, r.Pairs, r.Ratio())
	}
	var b bytes.Buffer
	if err := WriteABMarkdown(&b, reps, "", 0.05); err != nil {
		t.Fatal(err)
	}
	requireLines(t, b.String(),
		"| always | consume | 150.0k (100.0k–200.0k) | 140.0k (99.0k–199.0k) | 0.93× | **0.99×** |",
		"No workload's rate fell by more than 5%.")
}

func TestABMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteABMarkdown(&b, abSample(), "BASE=abc perf/ab.sh", 0.05); err != nil {
		t.Fatal(err)
	}
	requireLines(t, b.String(),
		"`BASE=abc perf/ab.sh`",
		"| always | publish | 102.0k (100.0k–104.0k) | 94.0k (90.0k–98.0k) | 0.92× | **0.92×** | publish-ack | 95.0 / 390 | 105 / 460 | **1.18×** | 2 / 2 |",
		"| interval | consume | 50.0k | 49.0k | 0.98× | **0.98×** |",
		"**Slower than base by more than 5%**: always publish (0.92×).")
	b.Reset()
	if err := WriteABMarkdown(&b, abSample(), "", 0.10); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No workload's rate fell by more than 10%.") {
		t.Errorf("within 10%%, the report still flags a row:\n%s", b.String())
	}
}

// TestWriteComparisons writes the two comparisons that draw no curves.
func TestWriteComparisons(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(dir string, files []string, reproduce string, log io.Writer) error
		reps  []perf.Report
		title string
	}{
		{"ab", WriteAB, abSample(), "two builds of SwarmMQ side by side"},
		{"cluster", WriteCluster, clusterSample(), "three-node SwarmMQ cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			if err := tc.write(out, writeReports(t, tc.reps), "x", io.Discard); err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(filepath.Join(out, "README.md"))
			if err != nil || !strings.Contains(string(md), tc.title) {
				t.Fatalf("README.md: %v\n%s", err, md)
			}
			if _, err := os.Stat(filepath.Join(out, "curves.svg")); !os.IsNotExist(err) {
				t.Fatalf("curves.svg written: %v", err)
			}
		})
	}
}
