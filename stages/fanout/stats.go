package fanout

import (
	"fmt"
	"strconv"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/queue"
)

// maxStatsDestinations bounds the per-destination series one worker
// exports, so a client making up names cannot blow up /metrics.
const maxStatsDestinations = 1000

// stats refreshes the per-destination and per-group gauges of the worker's
// partitions, and unregisters those of destinations and groups that are
// gone (deleted), so /metrics does not keep their last values.
func (w *worker) stats() {
	set := w.s.opts.Metrics
	seen := make(map[string]bool, len(w.series))
	gauge := func(name string, v float64) {
		set.GetOrCreateGauge(name, nil).Set(v)
		seen[name] = true
	}
	counter := func(name string, v uint64) {
		set.GetOrCreateCounter(name).Set(v)
		seen[name] = true
	}
	n := 0
	for _, id := range w.parts {
		dedupeStats(set, id, w.s.deps.Partitions[id].DedupeStats())
		w.s.deps.Partitions[id].Destinations(func(d queue.DestStats) {
			if n >= maxStatsDestinations {
				return
			}
			n++
			dest := strconv.Quote(string(d.Name))
			gauge(fmt.Sprintf("swarmmq_destination_depth{destination=%s}", dest), float64(d.Msgs))
			gauge(fmt.Sprintf("swarmmq_destination_bytes{destination=%s}", dest), float64(d.Bytes))
			// What this node stored for PUBLISHes it proposed (as the
			// partition's leader) since it started: see publish.go.
			if r := w.pub[string(d.Name)]; r != nil {
				counter(fmt.Sprintf("swarmmq_destination_published_messages_total{destination=%s}", dest), r.msgs)
				counter(fmt.Sprintf("swarmmq_destination_published_bytes_total{destination=%s}", dest), r.bytes)
			}
			for _, g := range d.Groups {
				labels := fmt.Sprintf("{destination=%s,group=%s}", dest, strconv.Quote(string(g.Name)))
				gauge("swarmmq_group_lag"+labels, float64(g.Lag))
				gauge("swarmmq_group_pending"+labels, float64(g.Pending))
			}
		})
	}
	for name := range w.series {
		if !seen[name] {
			set.UnregisterMetric(name)
		}
	}
	w.series = seen
}

// dedupeStats exports partition id's dedupe state (docs/metrics.md).
func dedupeStats(set *metrics.Set, id uint32, st queue.DedupeStats) {
	l := fmt.Sprintf(`{partition="%d"}`, id)
	set.GetOrCreateGauge("swarmmq_dedupe_ids"+l, nil).Set(float64(st.IDs))
	set.GetOrCreateCounter("swarmmq_dedupe_ids_evicted_total" + l).Set(st.IDsEvicted)
	set.GetOrCreateGauge("swarmmq_dedupe_producers"+l, nil).Set(float64(st.Producers))
	set.GetOrCreateGauge("swarmmq_dedupe_producer_keys"+l, nil).Set(float64(st.ProducerKeys))
	set.GetOrCreateCounter("swarmmq_dedupe_producers_evicted_total" + l).Set(st.ProducersEvicted)
}
