package peer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"github.com/swarmmq/swarmmq/netio/tlsconf"
)

// TLSConfig loads a node's peer-link TLS configuration: its certificate
// and key (security.tls_cert, tls_key), presented both when it accepts and
// when it dials, and the CAs peers are verified against (security.peer_ca,
// or tls_ca). Pass the result as Options.TLS.
func TLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, errors.New("swarmmq/peer: peer links need a CA file to verify peers with")
	}
	cfg, err := tlsconf.Client(caFile, certFile, keyFile, "")
	if err != nil {
		return nil, err
	}
	if len(cfg.Certificates) == 0 {
		return nil, fmt.Errorf("%w: peer links need this node's certificate", tlsconf.ErrCertWithoutKey)
	}
	return cfg, nil
}

// serverTLS derives the accepting side's configuration: TLS 1.3 only, and
// a client certificate is required and verified against the peers' CAs.
// The certificate may carry the client-auth or the server-auth extended key
// usage: a node presents its own (server) certificate when it dials.
func serverTLS(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	cfg.MinVersion = tlsconf.MinVersion
	cfg.MaxVersion = 0
	cfg.ServerName = ""
	cfg.ClientAuth = tls.RequireAnyClientCert
	roots := base.RootCAs
	cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		return verifyPeer(raw, roots)
	}
	return cfg
}

// clientTLS derives the dialling side's configuration for addr: TLS 1.3
// only, the accepting node's certificate verified against the peers' CAs
// and the host of addr.
func clientTLS(base *tls.Config, addr string) *tls.Config {
	cfg := base.Clone()
	cfg.MinVersion = tlsconf.MinVersion
	cfg.MaxVersion = 0
	if host, _, err := net.SplitHostPort(addr); err == nil {
		cfg.ServerName = host
	}
	own := base.Certificates[0]
	// Present the node's certificate whatever CAs the peer names.
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &own, nil }
	return cfg
}

// verifyPeer verifies a dialling peer's chain against roots.
func verifyPeer(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("swarmmq/peer: the peer sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("swarmmq/peer: cannot parse the peer's certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("swarmmq/peer: the peer's certificate does not verify: %w", err)
	}
	return nil
}
