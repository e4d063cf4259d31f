package promtext

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

// BenchmarkHistogramUpdate compares an Update of the VictoriaMetrics
// histogram (vmrange buckets) the node used before with one of the
// Prometheus histogram (le buckets) it uses now, with the bounds of
// swarmmq_publish_latency_seconds (21) and swarmmq_end_to_end_latency_seconds
// (26), on latencies spread evenly on a log scale from 20µs to 2s.
func BenchmarkHistogramUpdate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 4096)
	for i := range values {
		values[i] = 20e-6 * math.Pow(10, 5*rng.Float64())
	}
	set := metrics.NewSet()
	run := func(name string, update func(float64)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				update(values[i%len(values)])
			}
		})
	}
	vm := set.NewHistogram("vmrange_seconds")
	run("kind=vmrange", vm.Update)
	for _, bounds := range [][]float64{metrics.ExponentialBuckets(10e-6, 2, 21), metrics.ExponentialBuckets(100e-6, 2, 26)} {
		n := strconv.Itoa(len(bounds))
		h := set.NewPrometheusHistogramExt("le"+n+"_seconds", bounds)
		run("kind=le/buckets="+n, h.Update)
	}
}
