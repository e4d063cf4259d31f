package promtext

import (
	"bytes"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

func TestWrite(t *testing.T) {
	f := func(name, in, want string) {
		t.Helper()
		var out bytes.Buffer
		if err := Write(&out, []byte(in)); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("%s: got\n%s\nwant\n%s", name, out.String(), want)
		}
	}
	f("empty", "", "")
	f("counter", "swarmmq_decode_frames_total 3\n", `# HELP swarmmq_decode_frames_total Request frames decoded.
# TYPE swarmmq_decode_frames_total counter
swarmmq_decode_frames_total 3
`)
	f("labels, no final newline, blank and comment lines dropped",
		"# HELP swarmmq_ring_depth\n\nswarmmq_ring_depth{edge=\"a->b\"} 1\nswarmmq_ring_depth{edge=\"b->c\"} 0",
		`# HELP swarmmq_ring_depth Items waiting on a ring between two stages, by edge.
# TYPE swarmmq_ring_depth gauge
swarmmq_ring_depth{edge="a->b"} 1
swarmmq_ring_depth{edge="b->c"} 0
`)
	f("a family's samples brought together, first-seen order kept",
		"swarmmq_errors_total{code=\"A\"} 1\ngo_goroutines 5\nswarmmq_errors_total{code=\"B\"} 2\n",
		`# HELP swarmmq_errors_total Requests or messages answered with a wire error, by error code.
# TYPE swarmmq_errors_total counter
swarmmq_errors_total{code="A"} 1
swarmmq_errors_total{code="B"} 2
# HELP go_goroutines Goroutines that exist now.
# TYPE go_goroutines gauge
go_goroutines 5
`)
	f("summary", "go_gc_duration_seconds{quantile=\"0\"} 0\ngo_gc_duration_seconds_sum 0\ngo_gc_duration_seconds_count 0\n",
		`# HELP go_gc_duration_seconds Garbage collection pauses.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 0
go_gc_duration_seconds_sum 0
go_gc_duration_seconds_count 0
`)
	f("a _count that is a family of its own", "go_cgo_calls_count 7\n", `# HELP go_cgo_calls_count Calls from Go to C since start.
# TYPE go_cgo_calls_count counter
go_cgo_calls_count 7
`)
	f("unknown families are untyped, each sample name its own family",
		"x_bucket{vmrange=\"1...2\"} 1\nx_sum 1.5\n",
		"# HELP x_bucket "+UnknownHelp+"\n# TYPE x_bucket untyped\nx_bucket{vmrange=\"1...2\"} 1\n"+
			"# HELP x_sum "+UnknownHelp+"\n# TYPE x_sum untyped\nx_sum 1.5\n")
}

// TestWriteHistogram passes a histogram as the library writes it.
func TestWriteHistogram(t *testing.T) {
	set := metrics.NewSet()
	h := set.NewPrometheusHistogramExt("swarmmq_wal_sync_seconds", []float64{0.001, 0.01})
	h.Update(0.005)
	h.Update(5)
	set.NewCounter("swarmmq_wal_errors_total").Inc()
	var in, out bytes.Buffer
	set.WritePrometheus(&in)
	if err := Write(&out, in.Bytes()); err != nil {
		t.Fatal(err)
	}
	want := `# HELP swarmmq_wal_errors_total Write, sync and corruption errors of the log.
# TYPE swarmmq_wal_errors_total counter
swarmmq_wal_errors_total 1
# HELP swarmmq_wal_sync_seconds Duration of each fsync of a WAL file.
# TYPE swarmmq_wal_sync_seconds histogram
swarmmq_wal_sync_seconds_bucket{le="0.001"} 0
swarmmq_wal_sync_seconds_bucket{le="0.01"} 1
swarmmq_wal_sync_seconds_bucket{le="+Inf"} 2
swarmmq_wal_sync_seconds_sum 5.005
swarmmq_wal_sync_seconds_count 2
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestHelpEscaped(t *testing.T) {
	if got, want := helpEscaper.Replace("a\\b\nc"), `a\\b\nc`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestTable checks each entry: a known type, a sentence of help, counters
// named as counters.
func TestTable(t *testing.T) {
	for _, name := range Names() {
		f, _ := Lookup(name)
		switch f.Type {
		case Counter:
			if !strings.HasSuffix(name, "_total") && !strings.HasSuffix(name, "_count") {
				t.Errorf("%s: a counter's name ends in _total", name)
			}
		case Gauge, Histogram, Summary:
			if strings.HasSuffix(name, "_total") {
				t.Errorf("%s: a %s's name does not end in _total", name, f.Type)
			}
		default:
			t.Errorf("%s: type %q", name, f.Type)
		}
		if len(f.Help) < 10 || !strings.HasSuffix(f.Help, ".") || strings.ContainsAny(f.Help, "\\\n") {
			t.Errorf("%s: help %q is not one sentence", name, f.Help)
		}
	}
	for _, name := range NodeNames() {
		if !strings.HasPrefix(name, "swarmmq_") {
			t.Errorf("%s: the node's families start with swarmmq_", name)
		}
	}
}

// TestWriteAddsCount: a histogram written without _count (the Go runtime's)
// gets one from its +Inf bucket.
func TestWriteAddsCount(t *testing.T) {
	in := "go_gc_pauses_seconds_bucket{le=\"0\"} 0\ngo_gc_pauses_seconds_bucket{le=\"+Inf\"} 22\n"
	var out bytes.Buffer
	if err := Write(&out, []byte(in)); err != nil {
		t.Fatal(err)
	}
	if want := "go_gc_pauses_seconds_count 22\n"; !strings.HasSuffix(out.String(), in+want) {
		t.Errorf("got\n%s", out.String())
	}
	got := (&group{name: "h", lines: [][]byte{[]byte("h_bucket{a=\"x\",le=\"+Inf\"} 3\n"), []byte("h_bucket{le=\"+Inf\",a=\"y\"} 4")}}).appendCounts(nil)
	if want := "h_count{a=\"x\"} 3\nh_count{a=\"y\"} 4\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if f, _ := Lookup("go_gc_pauses_seconds"); !f.NoSum {
		t.Error("go_gc_pauses_seconds has no _sum")
	}
}
