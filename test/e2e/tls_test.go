package e2e

import (
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio/tlsconf/certgen"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// pki is a CA with one server and one client certificate.
type pki struct {
	ca, server, client *certgen.Pair
}

func newPKI(t *testing.T) pki {
	t.Helper()
	v := certgen.ValidFor(time.Now(), time.Hour)
	ca, err := certgen.NewCA("swarmmq test CA", v)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.IssueServer("node-1", []string{"127.0.0.1", "localhost"}, v)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("tester", v)
	if err != nil {
		t.Fatal(err)
	}
	return pki{ca: ca, server: server, client: client}
}

// TestTLS: publish and consume over TLS 1.3; a TLS 1.2-only client is
// refused; the plaintext port exists only when configured.
func TestTLS(t *testing.T) {
	p := newPKI(t)
	n := nodetest.Start(t, func(o *stages.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{p.server.TLSCertificate()}}
		o.PlainAddr = "127.0.0.1:0"
	})
	cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "127.0.0.1"}
	r, err := nodetest.DialTLS(t, n.AddrString(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.HandshakeOn(t, r)
	if acks := publishRaw(t, r, "secure", msg(1, "over-tls")); acks[0] != (frame.AckEntry{Seq: 1}) {
		t.Fatalf("publish over TLS: %+v", acks)
	}
	if got := fetchRaw(t, r, "secure", "g", 10); fmt.Sprint(got) != "[over-tls]" {
		t.Fatalf("fetch over TLS: %v", got)
	}
	old := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS12}
	if _, err := nodetest.DialTLS(t, n.AddrString(), old); err == nil {
		t.Fatal("a TLS 1.2 client was accepted")
	}
	// The explicit plaintext port serves the same data.
	plain := nodetest.Handshake(t, n.PlainAddr().String())
	if got := fetchRaw(t, plain, "secure", "g2", 10); fmt.Sprint(got) != "[over-tls]" {
		t.Fatalf("fetch on the plaintext port: %v", got)
	}
}

// TestMutualTLS: with client_auth, a client without a certificate, or with
// one from another CA, is refused; a client with a good one works.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	n := nodetest.Start(t, func(o *stages.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{p.server.TLSCertificate()},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ca.Pool()}
	})
	try := func(cert *certgen.Pair) error {
		cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "127.0.0.1"}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{cert.TLSCertificate()}
		}
		r, err := nodetest.DialTLS(t, n.AddrString(), cfg)
		if err != nil {
			return err
		}
		// TLS 1.3 reports a refused client certificate on the first read.
		r.Write(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("mtls")}))
		f, err := r.TryRead()
		if err == nil && f.Type != frame.TypeHelloOK {
			return fmt.Errorf("answered %s", f.Type)
		}
		return err
	}
	if err := try(nil); err == nil {
		t.Fatal("client without a certificate accepted")
	}
	if err := try(other.client); err == nil {
		t.Fatal("client with an untrusted certificate accepted")
	}
	if err := try(p.client); err != nil {
		t.Fatalf("client with a good certificate refused: %v", err)
	}
}
