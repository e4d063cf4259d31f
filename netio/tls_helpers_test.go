package netio

import (
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio/tlsconf/certgen"
)

// testPKI is a CA with a node and a client certificate, plus a second,
// untrusted CA and a client certificate of its own; all generated at run
// time.
type testPKI struct {
	ca, node, client  *certgen.Pair
	otherCA, stranger *certgen.Pair
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	v := certgen.ValidFor(time.Now(), time.Hour)
	var p testPKI
	var err error
	p.ca, err = certgen.NewCA("test CA", v)
	require.NoError(t, err)
	p.node, err = p.ca.IssueServer("node-1", []string{"localhost", "127.0.0.1"}, v)
	require.NoError(t, err)
	p.client, err = p.ca.IssueClient("client-a", v)
	require.NoError(t, err)
	p.otherCA, err = certgen.NewCA("other CA", v)
	require.NoError(t, err)
	p.stranger, err = p.otherCA.IssueClient("stranger", v)
	require.NoError(t, err)
	return &p
}

// serverConfig returns the node's config; with mutual set, client
// certificates from ca are required.
func (p *testPKI) serverConfig(mutual bool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{p.node.TLSCertificate()}}
	if mutual {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = p.ca.Pool()
	}
	return cfg
}

// clientConfig returns a client config trusting ca, presenting cert (if
// not nil) whatever CAs the server asks for — a Go client would otherwise
// send no certificate rather than one from a CA the server does not name.
func (p *testPKI) clientConfig(cert *certgen.Pair) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: p.ca.Pool(), ServerName: "localhost"}
	if cert != nil {
		own := cert.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &own, nil }
	}
	return cfg
}

func tlsOptions(p *testPKI, mutual bool) Options {
	opts := testOptions()
	opts.TLS = p.serverConfig(mutual)
	return opts
}

// dialTLS connects to the TLS listener and completes the TLS handshake.
func (e *env) dialTLS(cfg *tls.Config) *client {
	e.t.Helper()
	c, err := e.tryDialTLS(cfg)
	require.NoError(e.t, err)
	return c
}

// tryDialTLS connects and runs the TLS handshake, returning its error.
func (e *env) tryDialTLS(cfg *tls.Config) (*client, error) {
	e.t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: waitTimeout}, Config: cfg}
	nc, err := d.Dial("tcp", e.srv.Addr().String())
	if err != nil {
		return nil, err
	}
	e.t.Cleanup(func() { _ = nc.Close() })
	return &client{t: e.t, nc: nc}, nil
}

// dialPlain connects to the additional plaintext listener.
func (e *env) dialPlain() *client {
	e.t.Helper()
	nc, err := net.DialTimeout("tcp", e.srv.PlainAddr().String(), waitTimeout)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = nc.Close() })
	return &client{t: e.t, nc: nc}
}

// refused checks that the server ends a connection whose TLS handshake it
// rejected: in TLS 1.3 the client's side of the handshake can complete
// before the server has checked the client's certificate, so the refusal
// may surface at the first read.
func (c *client) refused() {
	c.t.Helper()
	c.write(frame.AppendHello(nil, 1, frame.Hello{}))
	f, _, err := c.next()
	require.Error(c.t, err, "got frame %v, want the connection refused", f.Type)
}

// publishFrame returns a PUBLISH of one message with a payload of n bytes.
func publishFrame(corr uint64, n int) []byte {
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(corr) + byte(i)
	}
	m := frame.Message{Timestamp: int64(corr), Producer: 42, Payload: payload}
	copy(m.ID[:], fmt.Sprintf("id-%013d", corr))
	return frame.AppendPublish(nil, corr, []byte("test-queue"), []frame.Message{m})
}
