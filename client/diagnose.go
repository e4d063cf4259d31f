package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Sentinels of a dial that reached something other than the SwarmMQ port
// it expected. Dial's error wraps one of them and says what to do.
var (
	// ErrTLSRequired means the port speaks TLS and the Client dialed it
	// without (Options.TLS nil).
	ErrTLSRequired = errors.New("swarmmq/client: the node speaks TLS")
	// ErrNotTLS means Options.TLS is set but the port answered in
	// plaintext.
	ErrNotTLS = errors.New("swarmmq/client: the port does not speak TLS")
	// ErrNotSwarmMQ means the port answered, but not in the SwarmMQ
	// protocol (an HTTP server, for instance the node's admin address).
	ErrNotSwarmMQ = errors.New("swarmmq/client: not a SwarmMQ client port")
)

// probeTimeout bounds the extra connection diagnose makes to tell why a
// dial got no answer at all.
const probeTimeout = 2 * time.Second

// Errors that say what to do; they wrap the sentinels above.
var (
	errTLSRequired = fmt.Errorf("%w and this client connected in plaintext: give it the CA of the node's certificate "+
		"(--tls-ca; Options.TLS in Go)", ErrTLSRequired)
	errNotTLS = fmt.Errorf("%w (it answered in plaintext): leave out --tls-ca (Options.TLS), or dial the node's TLS port",
		ErrNotTLS)
	errHTTP = fmt.Errorf("%w (it answered HTTP; the node's admin address?): dial the node's client port "+
		"(node.port, 9001 by default)", ErrNotSwarmMQ)
)

// recognised reports whether err is one of the explanations above.
func recognised(err error) bool {
	return errors.Is(err, ErrTLSRequired) || errors.Is(err, ErrNotTLS) || errors.Is(err, ErrNotSwarmMQ)
}

// silentError is a handshake that failed before the server sent a byte.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

// recognise returns what the first bytes a server sent say about it when
// they are not SwarmMQ: an HTTP status line, or a TLS record (an alert or
// a handshake: type 0x15 or 0x16, version 3.x). Else nil.
func recognise(first []byte) error {
	switch {
	case bytes.HasPrefix(first, []byte("HTTP")): // as a frame length: 1.2 GB, TOO_LARGE
		return errHTTP
	case len(first) >= 2 && (first[0] == 0x15 || first[0] == 0x16) && first[1] == 0x03:
		return errTLSRequired
	}
	return nil
}

// recogniseTLS explains a TLS handshake that met a plaintext server: Go's
// TLS client reports the record header it could not read.
func recogniseTLS(err error) error {
	var rh tls.RecordHeaderError
	if !errors.As(err, &rh) {
		return nil
	}
	if bytes.HasPrefix(rh.RecordHeader[:], []byte("HTTP/")) {
		return errHTTP
	}
	return errNotTLS
}

// diagnose explains a first connection to addr that failed without a byte from
// the server, if it can; else it returns err (connect already explained
// the failures whose bytes say what the server is). A plaintext handshake the server closed
// without a word is tried again as a TLS handshake (Go's TLS servers close
// silently on a non-TLS first record); one the server left unanswered
// until the dial timed out is tried as an HTTP request (an HTTP server
// waits for a request line that HELLO does not complete). Each probe is
// one more connection, made only after a dial failed, bounded by parent
// and probeTimeout.
func (c *Client) diagnose(parent context.Context, addr string, err error) error {
	var se *silentError
	if !errors.As(err, &se) || parent.Err() != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(parent, probeTimeout)
	defer cancel()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		if probeHTTP(ctx, addr) {
			return errHTTP
		}
	case c.opts.TLS == nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		if probeTLS(ctx, addr) {
			return errTLSRequired
		}
	}
	return err
}

// probeTLS reports whether addr completes a TLS handshake up to the
// server's certificate: one trusted by the system, or one it cannot
// verify (a private CA's), either way a TLS server.
func probeTLS(ctx context.Context, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	d := tls.Dialer{Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = nc.Close()
		return true
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn)
}

// probeHTTP reports whether addr answers an HTTP request with an HTTP
// status line.
func probeHTTP(ctx context.Context, addr string) bool {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer func() { _ = nc.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	if _, err := io.WriteString(nc, "HEAD / HTTP/1.0\r\n\r\n"); err != nil {
		return false
	}
	var first [7]byte
	if _, err := io.ReadFull(nc, first[:]); err != nil {
		return false
	}
	return errors.Is(recognise(first[:]), ErrNotSwarmMQ)
}
