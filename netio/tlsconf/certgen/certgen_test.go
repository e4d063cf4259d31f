package certgen_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/netio/tlsconf/certgen"
)

func TestIssueAndVerify(t *testing.T) {
	now := time.Now()
	v := certgen.ValidFor(now, time.Hour)
	ca, err := certgen.NewCA("ca", v)
	require.NoError(t, err)
	require.True(t, ca.Cert.IsCA)
	node, err := ca.IssueServer("node", []string{"localhost", "127.0.0.1", "::1", "node-1.test"}, v)
	require.NoError(t, err)
	require.Equal(t, []string{"localhost", "node-1.test"}, node.Cert.DNSNames)
	require.Len(t, node.Cert.IPAddresses, 2)
	client, err := ca.IssueClient("client", v)
	require.NoError(t, err)

	for _, host := range []string{"localhost", "127.0.0.1", "::1", "node-1.test"} {
		_, err = node.Cert.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.Pool(), CurrentTime: now})
		require.NoError(t, err, host)
	}
	_, err = node.Cert.Verify(x509.VerifyOptions{DNSName: "other", Roots: ca.Pool(), CurrentTime: now})
	require.Error(t, err)
	_, err = client.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
	_, err = client.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now.Add(2 * time.Hour),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.Error(t, err, "expired")

	other, err := certgen.NewCA("other", v)
	require.NoError(t, err)
	_, err = client.Cert.Verify(x509.VerifyOptions{Roots: other.Pool(), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.Error(t, err)

	_, err = ca.IssueServer("nobody", nil, v)
	require.Error(t, err)
}

func TestWriteFilesTightensKeyMode(t *testing.T) {
	ca, err := certgen.NewCA("ca", certgen.ValidFor(time.Now(), time.Hour))
	require.NoError(t, err)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	require.NoError(t, os.WriteFile(key, []byte("old"), 0o644))
	require.NoError(t, ca.WriteFiles(cert, key))
	fi, err := os.Stat(key)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := os.ReadFile(key)
	require.NoError(t, err)
	require.Equal(t, ca.KeyPEM, b)
	pair := ca.TLSCertificate()
	require.Same(t, ca.Cert, pair.Leaf)
}
