package netio

import (
	"crypto/tls"

	"github.com/swarmmq/swarmmq/netio/tlsconf"
)

// ServerTLSConfig returns a TLS 1.3 configuration for Options.TLS from PEM
// files: the node's certificate chain and key, and, with caFile set, the
// CAs client certificates are verified against — required when
// requireClientCert is true (mutual TLS: tls.RequireAndVerifyClientCert),
// else verified only when a client presents one. It is tlsconf.Server;
// clients build theirs with tlsconf.Client, which does not pull in netio.
func ServerTLSConfig(certFile, keyFile, caFile string, requireClientCert bool) (*tls.Config, error) {
	return tlsconf.Server(certFile, keyFile, caFile, requireClientCert)
}
