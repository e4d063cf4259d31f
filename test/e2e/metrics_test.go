package e2e

import (
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio/promtext"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// TestMetrics scrapes /metrics of an in-process node after publishes,
// fetches, acks, a nack, a duplicate and a refused message over TCP, and
// checks the text strictly (exposition), against docs/metrics.md (docs) and
// against the Grafana dashboard's queries (dashboard).
func TestMetrics(t *testing.T) {
	n := nodetest.Start(t, nil)
	text := exerciseAndScrape(t, n)
	samples := sampleLabels(text)
	t.Run("exposition", func(t *testing.T) { checkExposition(t, text) })
	t.Run("docs", func(t *testing.T) { checkDocs(t, samples) })
	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, "../../docs/grafana/swarmmq.json", samples) })
}

// exerciseAndScrape puts samples in every histogram and makes the node
// create its on-demand series, then returns /metrics once the per-group
// gauges (refreshed every second) are there.
func exerciseAndScrape(t *testing.T, n *nodetest.Node) string {
	t.Helper()
	c := dial(t, n)
	ctx := ctxT(t)
	const dest = "metrics.orders"
	publishN(t, c, dest, "m", 200)
	id := [16]byte{'d', 'u', 'p'}
	for range 2 {
		if _, err := c.PublishWithID(ctx, dest, id, []byte("same")); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := c.Fetch(ctx, dest, "g2", 10, 0)
	if err != nil || len(ds) != 10 {
		t.Fatalf("fetch g2: %d messages, %v", len(ds), err)
	}
	if err := c.Nack(ctx, dest, "g2", 0, ds[0].Seq); err != nil {
		t.Fatal(err)
	}
	if got := len(drain(t, c, dest, "g1", true)); got != 201 {
		t.Fatalf("g1 got %d messages, want 201", got)
	}
	r := nodetest.Handshake(t, n.AddrString())
	corr := r.NextCorr()
	bad := frame.AppendPublish(nil, corr, []byte(dest), []frame.Message{msg(1, "flipped")})
	bad[len(bad)-1] ^= 0xff
	r.Write(bad)
	if f := r.Read(); f.Type != frame.TypePublishAck || f.Corr != corr {
		t.Fatalf("bad-CRC publish answered %s corr %d", f.Type, f.Corr)
	}

	url := "http://" + n.HTTPAddr().String() + "/metrics"
	deadline := time.Now().Add(nodetest.Timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		text := scrape(t, url)
		if strings.Contains(text, `swarmmq_group_lag{destination="metrics.orders",group="g1"} 0`) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lag 0 for g1 in:\n%s", text)
		}
		<-tick.C
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	cl := http.Client{Timeout: nodetest.Timeout}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sampleLabels maps each sample name in text to the label names it has.
func sampleLabels(text string) map[string][]string {
	out := make(map[string][]string)
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		labels := out[name]
		if strings.HasPrefix(rest, "{") {
			for _, pair := range strings.Split(rest[1:strings.LastIndexByte(rest, '}')], ",") {
				l, _, _ := strings.Cut(pair, "=")
				if l = strings.TrimSpace(l); !slices.Contains(labels, l) {
					labels = append(labels, l)
				}
			}
		}
		out[name] = labels
	}
	return out
}

// checkExposition holds text to the Prometheus text format strictly: it
// parses, every family has one HELP and one TYPE line before its samples,
// which are together; every family is typed; histograms have le buckets
// rising to +Inf with cumulative counts, _sum and _count; the node's
// families are exactly the table's.
func checkExposition(t *testing.T, text string) {
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt: %v", err)
	}
	checkLines(t, text)
	var node []string
	for name, mf := range fams {
		if strings.HasPrefix(name, "swarmmq_") {
			node = append(node, name)
		}
		if mf.GetHelp() == "" || mf.GetHelp() == promtext.UnknownHelp {
			t.Errorf("%s: HELP %q", name, mf.GetHelp())
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_SUMMARY:
		case dto.MetricType_HISTOGRAM:
			for _, m := range mf.GetMetric() {
				checkHistogram(t, name, m.GetHistogram())
			}
		default:
			t.Errorf("%s: type %s", name, mf.GetType())
		}
	}
	slices.Sort(node)
	if want := promtext.NodeNames(); !slices.Equal(node, want) {
		t.Errorf("node families exposed:\n%v\nin the table:\n%v", node, want)
	}
	for _, name := range []string{
		"swarmmq_publish_latency_seconds", "swarmmq_ack_latency_seconds", "swarmmq_fetch_latency_seconds",
		"swarmmq_end_to_end_latency_seconds", "swarmmq_persist_commit_seconds", "swarmmq_persist_batch_requests",
		"swarmmq_wal_sync_seconds",
	} {
		if h := fams[name].GetMetric()[0].GetHistogram(); h.GetSampleCount() == 0 {
			t.Errorf("%s: no samples", name)
		}
	}
}

// checkHistogram: le bounds strictly rising to +Inf, cumulative counts,
// the +Inf bucket equal to _count, a _sum (but for the Go runtime's
// histograms, which keep none: promtext.Family.NoSum).
func checkHistogram(t *testing.T, name string, h *dto.Histogram) {
	t.Helper()
	bs := h.GetBucket()
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].GetUpperBound(), 1) {
		t.Errorf("%s: %d buckets, not ending with le=+Inf", name, len(bs))
		return
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].GetUpperBound() <= bs[i-1].GetUpperBound() || bs[i].GetCumulativeCount() < bs[i-1].GetCumulativeCount() {
			t.Errorf("%s: bucket le=%v %d after le=%v %d", name, bs[i].GetUpperBound(), bs[i].GetCumulativeCount(),
				bs[i-1].GetUpperBound(), bs[i-1].GetCumulativeCount())
		}
	}
	f, _ := promtext.Lookup(name)
	if last := bs[len(bs)-1].GetCumulativeCount(); last != h.GetSampleCount() || h.SampleSum == nil && !f.NoSum {
		t.Errorf("%s: +Inf bucket %d, _count %d, _sum %v", name, last, h.GetSampleCount(), h.SampleSum)
	}
}

// checkLines walks the text line by line, which the parser does not
// require: HELP, then TYPE, then the family's samples, each family once;
// a histogram's samples are its _bucket (with le), _sum and _count.
func checkLines(t *testing.T, text string) {
	seen := make(map[string]bool)
	var family, typ string
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fields := strings.SplitN(line, " ", 4)
		switch {
		case strings.HasPrefix(line, "# HELP "):
			family, typ = fields[2], ""
			if seen[family] {
				t.Errorf("line %d: second HELP for %s", i+1, family)
			}
			seen[family] = true
		case strings.HasPrefix(line, "# TYPE "):
			if len(fields) != 4 || fields[2] != family || typ != "" {
				t.Errorf("line %d: %q does not follow the HELP of %s", i+1, line, family)
			}
			typ = fields[3]
		default:
			name, _, _ := strings.Cut(fields[0], "{")
			if typ == "" || !sampleOf(name, family, typ) {
				t.Errorf("line %d: sample %q outside its family (current %s %s)", i+1, line, family, typ)
			}
			if typ == "histogram" && strings.HasSuffix(name, "_bucket") && !strings.Contains(fields[0], `le="`) {
				t.Errorf("line %d: bucket without le: %q", i+1, line)
			}
		}
	}
}

func sampleOf(name, family, typ string) bool {
	switch typ {
	case "histogram":
		return name == family+"_bucket" || name == family+"_sum" || name == family+"_count"
	case "summary":
		return name == family || name == family+"_sum" || name == family+"_count"
	}
	return name == family
}

// checkDocs: docs/metrics.md names every family the node exposes, and
// every swarmmq_ name it mentions (but prefixes such as swarmmq_*) is
// exposed.
func checkDocs(t *testing.T, samples map[string][]string) {
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	mentioned := identifiers(doc)
	for name := range samples {
		family := promtext.FamilyOf(name)
		if !slices.Contains(mentioned, family) {
			t.Errorf("docs/metrics.md does not name %s", family)
		}
	}
	for _, name := range mentioned {
		if _, ok := samples[name]; !ok && strings.HasPrefix(name, "swarmmq_") && !strings.HasSuffix(name, "_") &&
			!isFamily(name, samples) && !promtext.ClusterOnly(name) {
			t.Errorf("docs/metrics.md names %s, which /metrics does not expose", name)
		}
	}
}

func isFamily(name string, samples map[string][]string) bool {
	for s := range samples {
		if promtext.FamilyOf(s) == name {
			return true
		}
	}
	return false
}

// identifiers returns the words of s made of letters, digits and
// underscores.
func identifiers(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r > 0x7f || !isIdent(byte(r)) || r == ':' })
}
