package netio

import (
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

// serverMetrics are created once, in New.
type serverMetrics struct {
	accepted           *metrics.Counter
	closed             *metrics.Counter
	bytesIn            *metrics.Counter
	bytesOut           *metrics.Counter
	framesIn           *metrics.Counter
	protocolErrors     *metrics.Counter
	tlsHandshakeErrors *metrics.Counter
	slowConsumers      *metrics.Counter
	writeStalls        *metrics.Counter
	flowControl        *metrics.Counter
	byteWaits          *metrics.Counter
	refusedPerIP       *metrics.Counter
	penalizedRefused   *metrics.Counter
}

func newServerMetrics(set *metrics.Set, s *Server) serverMetrics {
	set.NewGauge("swarmmq_netio_connections", func() float64 {
		s.conns.Lock()
		defer s.conns.Unlock()
		return float64(len(s.conns.m))
	})
	b := &s.budget
	for kind, v := range map[string]*atomic.Int64{"inbound": &b.inbound, "pipeline": &b.pipeline, "outbound": &b.outbound} {
		set.NewGauge(`swarmmq_netio_buffered_bytes{kind="`+kind+`"}`, func() float64 { return float64(v.Load()) })
	}
	set.NewGauge("swarmmq_netio_buffered_limit_bytes", func() float64 { return float64(b.limit) })
	return serverMetrics{
		accepted:           set.NewCounter("swarmmq_netio_accepted_total"),
		closed:             set.NewCounter("swarmmq_netio_closed_total"),
		bytesIn:            set.NewCounter("swarmmq_netio_bytes_in_total"),
		bytesOut:           set.NewCounter("swarmmq_netio_bytes_out_total"),
		framesIn:           set.NewCounter("swarmmq_netio_frames_in_total"),
		protocolErrors:     set.NewCounter("swarmmq_netio_protocol_errors_total"),
		tlsHandshakeErrors: set.NewCounter("swarmmq_netio_tls_handshake_errors_total"),
		slowConsumers:      set.NewCounter("swarmmq_netio_slow_consumers_total"),
		writeStalls:        set.NewCounter("swarmmq_netio_write_stalls_total"),
		flowControl:        set.NewCounter("swarmmq_netio_flow_control_total"),
		byteWaits:          set.NewCounter("swarmmq_netio_byte_waits_total"),
		refusedPerIP:       set.NewCounter("swarmmq_netio_refused_per_ip_total"),
		penalizedRefused:   set.NewCounter("swarmmq_netio_penalized_refused_total"),
	}
}
