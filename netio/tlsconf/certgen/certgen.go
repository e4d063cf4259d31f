package certgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// Validity is the time span a certificate is valid in.
type Validity struct {
	NotBefore, NotAfter time.Time
}

// ValidFor returns the span from an hour before now (tolerating clock
// skew) to now+d.
func ValidFor(now time.Time, d time.Duration) Validity {
	return Validity{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(d)}
}

// Pair is a certificate and its private key, parsed and PEM-encoded. A Pair
// is immutable and safe for concurrent use.
type Pair struct {
	// Cert is the parsed certificate.
	Cert *x509.Certificate
	// CertPEM is Cert as a PEM "CERTIFICATE" block.
	CertPEM []byte
	// KeyPEM is the private key as a PEM "PRIVATE KEY" (PKCS #8) block.
	KeyPEM []byte

	key *ecdsa.PrivateKey
}

// NewCA returns a self-signed certificate authority named commonName.
func NewCA(commonName string, v Validity) (*Pair, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"SwarmMQ development"}},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return issue(tmpl, v, nil)
}

// IssueServer returns a server certificate signed by ca, valid for hosts:
// each is a DNS name or an IP address (subject alternative names).
func (ca *Pair) IssueServer(commonName string, hosts []string, v Validity) (*Pair, error) {
	if len(hosts) == 0 {
		return nil, errors.New("swarmmq/certgen: a server certificate needs at least one host")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: []string{"SwarmMQ development"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return issue(tmpl, v, ca)
}

// IssueClient returns a client certificate signed by ca, for mutual TLS.
func (ca *Pair) IssueClient(commonName string, v Validity) (*Pair, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: []string{"SwarmMQ development"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return issue(tmpl, v, ca)
}

// issue fills in the key, serial and validity of tmpl and signs it with
// parent, or with its own key when parent is nil.
func issue(tmpl *x509.Certificate, v Validity, parent *Pair) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("swarmmq/certgen: cannot generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("swarmmq/certgen: cannot draw a serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = v.NotBefore, v.NotAfter
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("swarmmq/certgen: cannot sign certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("swarmmq/certgen: cannot parse certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("swarmmq/certgen: cannot encode key: %w", err)
	}
	return &Pair{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		key:     key,
	}, nil
}

// TLSCertificate returns p for tls.Config.Certificates.
func (p *Pair) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.key, Leaf: p.Cert}
}

// Pool returns a new pool holding p's certificate, for tls.Config.RootCAs
// or ClientCAs when p is a CA.
func (p *Pair) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Cert)
	return pool
}

// WriteFiles writes the certificate to certPath (mode 0644) and the key to
// keyPath (mode 0600, also when the file existed with a wider mode).
func (p *Pair) WriteFiles(certPath, keyPath string) error {
	if err := writeFile(certPath, p.CertPEM, 0o644); err != nil {
		return err
	}
	return writeFile(keyPath, p.KeyPEM, 0o600)
}

func writeFile(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("swarmmq/certgen: %w", err)
	}
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		return fmt.Errorf("swarmmq/certgen: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("swarmmq/certgen: cannot write %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("swarmmq/certgen: cannot write %q: %w", path, err)
	}
	return nil
}
