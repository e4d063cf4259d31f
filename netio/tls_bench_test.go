package netio

import (
	"crypto/tls"
	"fmt"
	"net"
	"testing"
)

// BenchmarkTLS is BenchmarkInbound over TLS 1.3: frames/s from one
// loopback TLS client, through the TLS reader goroutine, into the ring,
// popped in batches by one consumer. Client, server and consumer share the
// machine's cores; the client's encryption is part of the cost.
func BenchmarkTLS(b *testing.B) {
	p := newTestPKI(b)
	for _, size := range []int{132, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			benchTLS(b, p, size)
		})
	}
}

func benchTLS(b *testing.B, p *testPKI, size int) {
	opts := tlsOptions(p, false)
	benchFrames(b, opts, size, func(addr string) (net.Conn, error) {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: waitTimeout}, Config: p.clientConfig(nil)}
		return d.Dial("tcp", addr)
	})
}
