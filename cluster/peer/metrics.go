package peer

import (
	"strconv"

	"github.com/VictoriaMetrics/metrics"
)

// linkMetrics are one peer's, created once in New with the label
// peer="<id>".
type linkMetrics struct {
	sentBytes, sentFrames *metrics.Counter
	recvBytes, recvFrames *metrics.Counter
	dropped, reconnects   *metrics.Counter
}

func newLinkMetrics(set *metrics.Set, l *link) linkMetrics {
	label := `{peer=` + strconv.Quote(l.id) + `}`
	set.NewGauge("swarmmq_peer_last_contact_seconds"+label, func() float64 {
		return float64(l.lastContact.Load()) / 1e9
	})
	set.NewGauge("swarmmq_peer_connected"+label, func() float64 {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.mu.conn != nil {
			return 1
		}
		return 0
	})
	set.NewGauge("swarmmq_peer_queued_bytes"+label, func() float64 {
		l.mu.Lock()
		defer l.mu.Unlock()
		return float64(l.mu.q.bytes)
	})
	return linkMetrics{
		sentBytes:  set.NewCounter("swarmmq_peer_sent_bytes_total" + label),
		sentFrames: set.NewCounter("swarmmq_peer_sent_frames_total" + label),
		recvBytes:  set.NewCounter("swarmmq_peer_received_bytes_total" + label),
		recvFrames: set.NewCounter("swarmmq_peer_received_frames_total" + label),
		dropped:    set.NewCounter("swarmmq_peer_dropped_frames_total" + label),
		reconnects: set.NewCounter("swarmmq_peer_reconnects_total" + label),
	}
}
