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
// partitions.
func (w *worker) stats() {
	set := w.s.opts.Metrics
	n := 0
	for _, id := range w.parts {
		dedupeStats(set, id, w.s.deps.Partitions[id].DedupeStats())
		w.s.deps.Partitions[id].Destinations(func(d queue.DestStats) {
			if n >= maxStatsDestinations {
				return
			}
			n++
			dest := strconv.Quote(string(d.Name))
			set.GetOrCreateGauge(fmt.Sprintf("swarmmq_destination_depth{destination=%s}", dest), nil).Set(float64(d.Msgs))
			set.GetOrCreateGauge(fmt.Sprintf("swarmmq_destination_bytes{destination=%s}", dest), nil).Set(float64(d.Bytes))
			for _, g := range d.Groups {
				labels := fmt.Sprintf("{destination=%s,group=%s}", dest, strconv.Quote(string(g.Name)))
				set.GetOrCreateGauge("swarmmq_group_lag"+labels, nil).Set(float64(g.Lag))
				set.GetOrCreateGauge("swarmmq_group_pending"+labels, nil).Set(float64(g.Pending))
			}
		})
	}
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
