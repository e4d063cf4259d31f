package tlsconf_test

import (
	"crypto/tls"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmmq/swarmmq/netio/tlsconf"
	"github.com/swarmmq/swarmmq/netio/tlsconf/certgen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// files is a PKI written to a temporary directory: a CA with a node and a
// client certificate, and a client certificate from another CA.
type files struct {
	ca, node, nodeKey, client, clientKey, stranger, strangerKey string
}

func writePKI(t *testing.T) files {
	t.Helper()
	dir := t.TempDir()
	v := certgen.ValidFor(time.Now(), time.Hour)
	ca, err := certgen.NewCA("test CA", v)
	require.NoError(t, err)
	node, err := ca.IssueServer("node", []string{"localhost", "127.0.0.1"}, v)
	require.NoError(t, err)
	client, err := ca.IssueClient("client", v)
	require.NoError(t, err)
	other, err := certgen.NewCA("other CA", v)
	require.NoError(t, err)
	stranger, err := other.IssueClient("stranger", v)
	require.NoError(t, err)
	p := func(name string) string { return filepath.Join(dir, name) }
	f := files{p("ca.pem"), p("node.pem"), p("node-key.pem"), p("client.pem"), p("client-key.pem"),
		p("stranger.pem"), p("stranger-key.pem")}
	require.NoError(t, ca.WriteFiles(f.ca, p("ca-key.pem")))
	require.NoError(t, node.WriteFiles(f.node, f.nodeKey))
	require.NoError(t, client.WriteFiles(f.client, f.clientKey))
	require.NoError(t, stranger.WriteFiles(f.stranger, f.strangerKey))
	return f
}

func TestServer(t *testing.T) {
	f := writePKI(t)
	cfg, err := tlsconf.Server(f.node, f.nodeKey, "", false)
	require.NoError(t, err)
	require.EqualValues(t, tls.VersionTLS13, cfg.MinVersion)
	require.Equal(t, tls.NoClientCert, cfg.ClientAuth)
	require.Len(t, cfg.Certificates, 1)

	cfg, err = tlsconf.Server(f.node, f.nodeKey, f.ca, false)
	require.NoError(t, err)
	require.Equal(t, tls.VerifyClientCertIfGiven, cfg.ClientAuth)
	require.NotNil(t, cfg.ClientCAs)

	cfg, err = tlsconf.Server(f.node, f.nodeKey, f.ca, true)
	require.NoError(t, err)
	require.Equal(t, tls.RequireAndVerifyClientCert, cfg.ClientAuth)

	_, err = tlsconf.Server(f.node, f.nodeKey, "", true)
	require.ErrorIs(t, err, tlsconf.ErrNeedsCA)
	_, err = tlsconf.Server(f.node, "", "", false)
	require.ErrorIs(t, err, tlsconf.ErrCertWithoutKey)
	_, err = tlsconf.Server(f.node+".missing", f.nodeKey, "", false)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = tlsconf.Server(f.node, f.clientKey, "", false)
	require.Error(t, err, "a key that does not match the certificate")
	_, err = tlsconf.Server(f.node, f.nodeKey, f.nodeKey, false)
	require.ErrorIs(t, err, tlsconf.ErrNoCertificates)
}

func TestClient(t *testing.T) {
	f := writePKI(t)
	cfg, err := tlsconf.Client("", "", "", "")
	require.NoError(t, err)
	require.EqualValues(t, tls.VersionTLS13, cfg.MinVersion)
	require.Nil(t, cfg.RootCAs, "system roots")

	cfg, err = tlsconf.Client(f.ca, f.client, f.clientKey, "localhost")
	require.NoError(t, err)
	require.NotNil(t, cfg.RootCAs)
	require.Len(t, cfg.Certificates, 1)
	require.Equal(t, "localhost", cfg.ServerName)

	_, err = tlsconf.Client(f.ca, f.client, "", "")
	require.ErrorIs(t, err, tlsconf.ErrCertWithoutKey)
	_, err = tlsconf.Client(f.ca+".missing", "", "", "")
	require.ErrorIs(t, err, fs.ErrNotExist)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = tlsconf.Client(empty, "", "", "")
	require.ErrorIs(t, err, tlsconf.ErrNoCertificates)
}

// TestHandshakes runs the two sides against each other: what mutual TLS
// accepts and refuses, and that TLS 1.2 is refused.
func TestHandshakes(t *testing.T) {
	f := writePKI(t)
	mutual, err := tlsconf.Server(f.node, f.nodeKey, f.ca, true)
	require.NoError(t, err)
	optional, err := tlsconf.Server(f.node, f.nodeKey, f.ca, false)
	require.NoError(t, err)
	client := func(cert, key, name string) *tls.Config {
		cfg, err := tlsconf.Client(f.ca, cert, key, name)
		require.NoError(t, err)
		if len(cfg.Certificates) > 0 {
			// Send the certificate even when the server names other CAs
			// (a Go client would otherwise send none), so the server's
			// verification is what is tested.
			own := cfg.Certificates[0]
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &own, nil }
		}
		return cfg
	}
	tls12 := client("", "", "localhost")
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	for _, tc := range []struct {
		name   string
		server *tls.Config
		client *tls.Config
		ok     bool
	}{
		{"mutual", mutual, client(f.client, f.clientKey, "localhost"), true},
		{"mutual-by-ip", mutual, client(f.client, f.clientKey, "127.0.0.1"), true},
		{"mutual-no-cert", mutual, client("", "", "localhost"), false},
		{"mutual-stranger", mutual, client(f.stranger, f.strangerKey, "localhost"), false},
		{"optional-no-cert", optional, client("", "", "localhost"), true},
		{"optional-stranger", optional, client(f.stranger, f.strangerKey, "localhost"), false},
		{"wrong-server-name", optional, client("", "", "elsewhere"), false},
		{"tls12", optional, tls12, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(tc.server, tc.client)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

// handshake runs a TLS handshake over a pipe and returns the first error
// either side saw.
func handshake(srvCfg, cliCfg *tls.Config) error {
	a, b := net.Pipe()
	var wg sync.WaitGroup
	var srvErr error
	wg.Go(func() {
		srvErr = tls.Server(a, srvCfg).Handshake()
		_ = a.Close()
	})
	cliErr := tls.Client(b, cliCfg).Handshake()
	_ = b.Close()
	wg.Wait()
	if cliErr != nil {
		return cliErr
	}
	return srvErr
}
