package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/netio/tlsconf"
)

func TestRunWritesUsableCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out bytes.Buffer
	f := flags{Dir: dir, Host: []string{"node-1.test", "10.1.2.3"}, Valid: time.Hour, Client: "tester"}
	require.NoError(t, run(f, time.Now(), &out))
	for _, name := range files {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		if strings.HasSuffix(name, "-key.pem") {
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
		}
	}
	require.Contains(t, out.String(), "node-1.test")

	// Existing files are kept unless --force.
	require.ErrorContains(t, run(f, time.Now(), &out), "already exists")
	f.Force = true
	require.NoError(t, run(f, time.Now(), &out))

	// The files make a working mutual TLS pair.
	p := func(name string) string { return filepath.Join(dir, name) }
	srvCfg, err := tlsconf.Server(p("node.pem"), p("node-key.pem"), p("ca.pem"), true)
	require.NoError(t, err)
	for _, name := range []string{"localhost", "127.0.0.1", "node-1.test", "10.1.2.3"} {
		cliCfg, err := tlsconf.Client(p("ca.pem"), p("client.pem"), p("client-key.pem"), name)
		require.NoError(t, err)
		handshake(t, srvCfg, cliCfg)
	}
}

func TestRunRejectsBadValidity(t *testing.T) {
	require.Error(t, run(flags{Dir: t.TempDir(), Valid: -time.Hour}, time.Now(), &bytes.Buffer{}))
}

// handshake runs a TLS handshake between the two configs over a pipe.
func handshake(t *testing.T, srvCfg, cliCfg *tls.Config) {
	t.Helper()
	a, b := net.Pipe()
	defer func() { _ = a.Close(); _ = b.Close() }()
	var wg sync.WaitGroup
	var srvErr error
	var peer string
	wg.Go(func() {
		srv := tls.Server(a, srvCfg)
		srvErr = srv.Handshake()
		if srvErr == nil {
			peer = srv.ConnectionState().PeerCertificates[0].Subject.CommonName
		}
		_ = a.Close()
	})
	cliErr := tls.Client(b, cliCfg).Handshake()
	wg.Wait()
	require.NoError(t, cliErr)
	require.NoError(t, srvErr)
	require.Equal(t, "tester", peer)
}
