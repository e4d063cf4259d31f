package fanout

import (
	"fmt"
	"strconv"

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
