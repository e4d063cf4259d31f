package client

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal/keyfile"
)

// rawServer accepts connections on 127.0.0.1:0 and hands each to serve
// (which must return); the test closes it and waits for it at its end.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = nc.Close() }()
				serve(nc)
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dialErr dials addr with mod applied and returns the error, which must
// not be nil.
func dialErr(t *testing.T, addr string, mod func(*Options)) error {
	t.Helper()
	opts := Options{Addr: addr, ClientID: "test-client"}
	if mod != nil {
		mod(&opts)
	}
	c, err := Dial(testCtx(t), opts)
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded")
	}
	return err
}

// TestDialTLSPortInPlaintext: a Go TLS server closes a plaintext client
// without a byte; the client finds out that it speaks TLS by a second,
// TLS, handshake and says what to do.
func TestDialTLSPortInPlaintext(t *testing.T) {
	s := httptest.NewUnstartedServer(http.NotFoundHandler())
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	addr := s.Listener.Addr().String()
	err := dialErr(t, addr, nil)
	require.ErrorIs(t, err, ErrTLSRequired)
	require.Equal(t, "swarmmq: dial "+addr+": the node speaks TLS and this client connected in plaintext: "+
		"give it the CA of the node's certificate (--tls-ca; Options.TLS in Go)", err.Error())
}

// TestDialTLSAlert: a TLS server that answers with an alert record is
// recognised by its first bytes.
func TestDialTLSAlert(t *testing.T) {
	addr := rawServer(t, func(nc net.Conn) {
		_, _ = nc.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46}) // fatal protocol_version
	})
	require.ErrorIs(t, dialErr(t, addr, nil), ErrTLSRequired)
}

// TestDialSilentClose: a server that closes without a byte and does not
// speak TLS either keeps the plain error (EOF, or a reset when it closed
// with HELLO unread).
func TestDialSilentClose(t *testing.T) {
	addr := rawServer(t, func(nc net.Conn) {
		_, _ = nc.Read(make([]byte, 4096))
	})
	err := dialErr(t, addr, nil)
	require.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "%v", err)
	require.False(t, recognised(err), "%v", err)
}

// TestDialHTTPPort: an HTTP server that waits for a request line (as the
// node's admin server does, for 5s) makes the dial time out; the client
// then asks it in HTTP and says it is not a SwarmMQ port.
func TestDialHTTPPort(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(s.Close)
	addr := s.Listener.Addr().String()
	err := dialErr(t, addr, func(o *Options) { o.DialTimeout = 500 * time.Millisecond })
	require.ErrorIs(t, err, ErrNotSwarmMQ)
	require.Equal(t, "swarmmq: dial "+addr+": not a SwarmMQ client port (it answered HTTP; the node's admin "+
		"address?): dial the node's client port (node.port, 9001 by default)", err.Error())
}

// TestDialHTTPAnswer: an HTTP answer in time is recognised by its first
// bytes (the frame decoder alone would call it TOO_LARGE).
func TestDialHTTPAnswer(t *testing.T) {
	addr := rawServer(t, func(nc net.Conn) {
		_, _ = nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
	})
	err := dialErr(t, addr, nil)
	require.ErrorIs(t, err, ErrNotSwarmMQ)
	require.NotContains(t, err.Error(), "TOO_LARGE")
}

// TestDialTimeoutNotHTTP: a port that never answers anything keeps the
// timeout.
func TestDialTimeoutNotHTTP(t *testing.T) {
	addr := rawServer(t, func(nc net.Conn) { _, _ = io.Copy(io.Discard, nc) })
	err := dialErr(t, addr, func(o *Options) { o.DialTimeout = 500 * time.Millisecond })
	require.ErrorContains(t, err, "handshake: context deadline exceeded")
	require.False(t, recognised(err))
}

// TestDialPlaintextPortWithTLS: a TLS client on a plaintext SwarmMQ port.
func TestDialPlaintextPortWithTLS(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	err := dialErr(t, s.Addr(), func(o *Options) { o.TLS = &tls.Config{MinVersion: tls.VersionTLS13} })
	require.ErrorIs(t, err, ErrNotTLS)
	require.ErrorContains(t, err, "leave out --tls-ca")
}

// TestPublishUnsealedToSealedNode: a node that verifies seals refuses an
// unsealed message with AUTH_FAILED; the error says why and what to do,
// on both publish paths.
func TestPublishUnsealedToSealedNode(t *testing.T) {
	path := t.TempDir() + "/keyring.yaml"
	require.NoError(t, keyfile.Generate(path))
	kr, _, err := keyfile.Read(path)
	require.NoError(t, err)
	s := startServer(t, clienttest.Options{Reject: clienttest.VerifySealed(kr)})
	c := dial(t, s, nil)
	const want = "swarmmq: publish to q: AUTH_FAILED: the node requires sealed messages and this client sends them " +
		"unsealed: give it the node's keyring (--key-file; Options.Keyring in Go)"

	res, err := c.Publish(testCtx(t), "q", []byte("x"))
	require.Error(t, err)
	require.Equal(t, frame.CodeAuthFailed, frame.CodeOf(res[0].Err))
	require.EqualError(t, res[0].Err, want)

	p := mustPublisher(t, c, "q", PublisherOptions{})
	done := make(chan error, 1)
	require.NoError(t, p.Publish(testCtx(t), []byte("y"), func(r PublishResult) { done <- r.Err }))
	require.NoError(t, p.Close(testCtx(t)))
	err = <-done
	require.EqualError(t, err, want)

	// A sealed message to a node running unsealed: UNKNOWN_KEY, and the
	// error names the node's side.
	unsealed := startServer(t, clienttest.Options{Reject: func(_ string, m frame.Message) frame.Code {
		if m.KeyID != 0 {
			return frame.CodeUnknownKey
		}
		return frame.CodeOK
	}})
	sealed := dial(t, unsealed, func(o *Options) { o.Keyring = kr })
	res, err = sealed.Publish(testCtx(t), "q", []byte("z"))
	require.Error(t, err)
	require.EqualError(t, res[0].Err, "swarmmq: publish to q: UNKNOWN_KEY: the node does not know the key this client "+
		"sealed with: it runs unsealed (no security.keyring), or its keyring lacks the key; use the node's keyring")
}
