package netio

import "github.com/VictoriaMetrics/metrics"

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
	refusedPerIP       *metrics.Counter
}

func newServerMetrics(set *metrics.Set, s *Server) serverMetrics {
	set.NewGauge("swarmmq_netio_connections", func() float64 {
		s.conns.Lock()
		defer s.conns.Unlock()
		return float64(len(s.conns.m))
	})
	return serverMetrics{
		accepted:           set.NewCounter("swarmmq_netio_accepted_total"),
		closed:             set.NewCounter("swarmmq_netio_closed_total"),
		bytesIn:            set.NewCounter("swarmmq_netio_bytes_in_total"),
		bytesOut:           set.NewCounter("swarmmq_netio_bytes_out_total"),
		framesIn:           set.NewCounter("swarmmq_netio_frames_in_total"),
		protocolErrors:     set.NewCounter("swarmmq_netio_protocol_errors_total"),
		tlsHandshakeErrors: set.NewCounter("swarmmq_netio_tls_handshake_errors_total"),
		slowConsumers:      set.NewCounter("swarmmq_netio_slow_consumers_total"),
		refusedPerIP:       set.NewCounter("swarmmq_netio_refused_per_ip_total"),
	}
}
