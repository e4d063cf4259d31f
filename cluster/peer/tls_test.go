package peer

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio/tlsconf/certgen"
)

// pki writes a CA and one node certificate (127.0.0.1) to files and
// returns the peer TLS configuration loaded from them, plus the CA.
func pki(t *testing.T) (*tls.Config, *certgen.Pair) {
	t.Helper()
	v := certgen.ValidFor(time.Now(), time.Hour)
	ca, err := certgen.NewCA("peer CA", v)
	require.NoError(t, err)
	node, err := ca.IssueServer("node", []string{"127.0.0.1", "localhost"}, v)
	require.NoError(t, err)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.CertPEM, 0o600))
	cert, key := filepath.Join(dir, "node.pem"), filepath.Join(dir, "node-key.pem")
	require.NoError(t, node.WriteFiles(cert, key))
	cfg, err := TLSConfig(cert, key, caFile)
	require.NoError(t, err)
	return cfg, ca
}

func tlsCluster(t *testing.T, cfg *tls.Config) (*node, *node) {
	ln1, ln2 := listen(t), listen(t)
	peers := map[string]string{"node-1": ln1.Addr().String(), "node-2": ln2.Addr().String()}
	o1, o2 := testOptions("node-1", ln1, peers), testOptions("node-2", ln2, peers)
	o1.TLS, o2.TLS = cfg, cfg
	return start(t, o1), start(t, o2)
}

func TestTLSMutual(t *testing.T) {
	cfg, ca := pki(t)
	n1, n2 := tlsCluster(t, cfg)
	sendUntil(t, n1, n2, "node-2", "sealed")
	got, err := n2.t.Call(callCtx(t, 5*time.Second), "node-1", []byte("q"))
	require.NoError(t, err)
	require.Equal(t, "re:q", string(got))

	addr := n2.t.Addr().String()
	hello := frame.AppendPeerHello(nil, 1, frame.PeerHello{Cluster: []byte("test"), NodeID: []byte("node-1"),
		To: []byte("node-2"), Partitions: 16, MaxFrame: DefaultMaxFrame})
	try := func(c *tls.Config) error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(hello); err != nil {
			return err
		}
		_, _, err = newFrameReader(conn, DefaultMaxFrame).next() // TLS 1.3: the refusal of the certificate comes here
		return err
	}
	t.Run("no-client-certificate", func(t *testing.T) {
		err := try(&tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
		require.ErrorContains(t, err, "certificate required")
	})
	t.Run("tls1.2", func(t *testing.T) {
		c := cfg.Clone()
		c.MinVersion, c.MaxVersion, c.ServerName = tls.VersionTLS12, tls.VersionTLS12, "127.0.0.1"
		err := try(c)
		require.ErrorContains(t, err, "protocol version")
	})
	t.Run("other-ca", func(t *testing.T) {
		other, _ := pki(t)
		c := other.Clone()
		c.RootCAs, c.ServerName = ca.Pool(), "127.0.0.1" // trusts the node, but its certificate is a stranger's
		own := other.Certificates[0]
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &own, nil }
		err := try(c)
		require.Error(t, err)
	})
	t.Run("plaintext-peer", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = conn.Write(hello)
		_, _, err = newFrameReader(conn, DefaultMaxFrame).next()
		require.Error(t, err) // the TLS side never answers a plaintext frame
	})
	eventually(t, "TLS failures logged", func() bool {
		return strings.Contains(n2.log.String(), "peer TLS handshake failed")
	})
	require.True(t, n1.connected("node-2"))
}

func TestTLSConfigNeedsCA(t *testing.T) {
	_, err := TLSConfig("a.pem", "a-key.pem", "")
	require.ErrorContains(t, err, "CA file")
	var o Options
	o.TLS = &tls.Config{}
	o.EnsureDefaults()
	require.ErrorContains(t, o.Validate(), "certificate")
}
