package report

import (
	"bytes"
	"testing"

	"github.com/swarmmq/swarmmq/perf"
)

// clusterRep makes a one-result SwarmMQ report of one embedded node or of
// an external cluster.
func clusterRep(embedded bool, workload string, rate, p50, p99 float64) perf.Report {
	fsync := "external"
	if embedded {
		fsync = perf.FsyncAlways
	}
	r := rep(Swarm, fsync, workload, rate, p50, p99)
	r.Target.Embedded = embedded
	return r
}

func clusterSample() []perf.Report {
	return []perf.Report{
		clusterRep(true, perf.WorkPublish, 200_000, 100, 400),
		clusterRep(false, perf.WorkPublish, 50_000, 300, 1000),
		clusterRep(true, perf.WorkPublish, 220_000, 110, 420),
		clusterRep(false, perf.WorkPublish, 70_000, 200, 800),
		clusterRep(false, perf.WorkConsume, 30_000, 0, 0),
		rep(Nats, perf.FsyncAlways, perf.WorkPublish, 5_000, 1000, 2000), // not SwarmMQ: left out
	}
}

func TestClusterRows(t *testing.T) {
	rows := ClusterRows(clusterSample())
	if len(rows) != 2 {
		t.Fatalf("rows = %+v, want publish and consume", rows)
	}
	pub, con := rows[0], rows[1]
	if pub.Workload != perf.WorkPublish || con.Workload != perf.WorkConsume {
		t.Fatalf("order: %s, %s", pub.Workload, con.Workload)
	}
	if pub.One.N != 2 || pub.One.Rate != 210_000 || pub.Cluster.N != 2 || pub.Cluster.Rate != 60_000 {
		t.Fatalf("publish = %+v", pub)
	}
	if got := pub.RateRatio(); got < 0.2857 || got > 0.2858 {
		t.Fatalf("rate ratio %v, want 60k/210k", got)
	}
	if got := pub.P99Ratio(); got < 2.19 || got > 2.20 { // 900 / 410
		t.Fatalf("p99 ratio %v, want 900/410", got)
	}
	if con.One.N != 0 || con.RateRatio() != 0 {
		t.Fatalf("consume without a single-node run: %+v", con)
	}
}

func TestClusterMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteClusterMarkdown(&b, clusterSample(), "perf/cluster.sh"); err != nil {
		t.Fatal(err)
	}
	requireLines(t, b.String(),
		"Test CPU, 2 cores",
		"Payloads of 128 bytes.",
		"`perf/cluster.sh`",
		"| publish | 210.0k (200.0k–220.0k) | 60.0k (50.0k–70.0k) | **0.29×** | publish-ack | 105 / 410 | 250 / 900 | **2.20×** | 2 / 2 |",
		"| consume | — | 30.0k | **—** | — | — | — | **—** | 0 / 1 |")
}
