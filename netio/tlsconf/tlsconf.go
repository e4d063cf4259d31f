package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// MinVersion is the TLS version every configuration of this package
// requires, and the only one SwarmMQ speaks.
const MinVersion = tls.VersionTLS13

var (
	// ErrNoCertificates means a CA file holds no PEM certificate.
	ErrNoCertificates = errors.New("swarmmq/tlsconf: no PEM certificate found")
	// ErrNeedsCA means client certificates are required but no CA file
	// was given to verify them with.
	ErrNeedsCA = errors.New("swarmmq/tlsconf: requiring client certificates needs a CA file")
	// ErrCertWithoutKey means only one of a certificate file and its key
	// file was given.
	ErrCertWithoutKey = errors.New("swarmmq/tlsconf: a certificate and its key go together")
)

// Server returns a node's TLS 1.3 configuration: certFile and keyFile hold
// the node's PEM certificate chain and private key. With caFile set,
// client certificates are verified against the CAs in it: required when
// requireClientCert is true (tls.RequireAndVerifyClientCert, mutual TLS),
// else checked only if a client presents one
// (tls.VerifyClientCertIfGiven). requireClientCert without caFile is
// ErrNeedsCA.
func Server(certFile, keyFile, caFile string, requireClientCert bool) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("%w: the node needs both", ErrCertWithoutKey)
	}
	if requireClientCert && caFile == "" {
		return nil, ErrNeedsCA
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("swarmmq/tlsconf: cannot load certificate %q and key %q: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   MinVersion,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.NoClientCert,
	}
	if caFile != "" {
		pool, err := LoadPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if requireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg, nil
}

// Client returns a client's TLS 1.3 configuration. The node's certificate
// is verified against the CAs in caFile, or the system's roots when caFile
// is empty. certFile and keyFile (both or neither) are the client's own
// certificate for mutual TLS. serverName is the name the node's
// certificate must carry; when empty, set it to the host being dialled
// (tls.Dial and tls.Dialer do that themselves; tls.Client does not).
func Client(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, ErrCertWithoutKey
	}
	cfg := &tls.Config{MinVersion: MinVersion, ServerName: serverName}
	if caFile != "" {
		pool, err := LoadPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("swarmmq/tlsconf: cannot load certificate %q and key %q: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// LoadPool reads the PEM certificates in file into a new pool. A file with
// none is ErrNoCertificates.
func LoadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("swarmmq/tlsconf: cannot read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w in CA file %q", ErrNoCertificates, file)
	}
	return pool, nil
}
