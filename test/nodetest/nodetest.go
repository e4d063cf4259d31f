// Package nodetest starts SwarmMQ nodes for tests: in process on
// 127.0.0.1:0 with a temporary data directory, and speaks raw protocol
// frames to them for the tests that must send what no client library would.
package nodetest

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
)

// Timeout bounds every wait of a test helper.
const Timeout = 20 * time.Second

// Node is an in-process node with its options, restartable on its data.
type Node struct {
	*stages.Node
	Opts stages.Options
	t    testing.TB
}

// Start starts a node on 127.0.0.1:0 with data in a new temporary
// directory; mutate may adjust the options. The node stops at the end of
// the test.
func Start(t testing.TB, mutate func(*stages.Options)) *Node {
	t.Helper()
	opts := stages.Options{ClientAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir()}
	if mutate != nil {
		mutate(&opts)
	}
	n := &Node{Opts: opts, t: t}
	n.start()
	t.Cleanup(func() { n.Stop() })
	return n
}

func (n *Node) start() {
	n.t.Helper()
	sn, err := stages.New(n.Opts)
	if err != nil {
		n.t.Fatal(err)
	}
	if err := sn.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.Node = sn
}

// Stop stops the node gracefully.
func (n *Node) Stop() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := n.Node.Stop(ctx); err != nil {
		n.t.Errorf("stop: %v", err)
	}
}

// Restart stops the node and starts a new one on the same data directory
// (and a new port).
func (n *Node) Restart() {
	n.t.Helper()
	n.Stop()
	n.start()
}

// AddrString is the client address as host:port.
func (n *Node) AddrString() string { return n.Addr().String() }

// Raw is a raw protocol connection.
type Raw struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	corr uint64
}

// Dial opens a raw connection without sending anything.
func Dial(t testing.TB, addr string) *Raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &Raw{t: t, conn: c, br: bufio.NewReader(c)}
}

// DialTLS opens a raw TLS connection (handshake done) without sending a
// frame, or returns the handshake error.
func DialTLS(t testing.TB, addr string, cfg *tls.Config) (*Raw, error) {
	t.Helper()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: Timeout}, Config: cfg}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	r := &Raw{t: t, conn: c, br: bufio.NewReader(c)}
	return r, nil
}

// Handshake dials and completes HELLO.
func Handshake(t testing.TB, addr string) *Raw {
	t.Helper()
	return HandshakeOn(t, Dial(t, addr))
}

// HandshakeOn completes HELLO on an open raw connection.
func HandshakeOn(t testing.TB, r *Raw) *Raw {
	t.Helper()
	r.Write(frame.AppendHello(nil, r.NextCorr(), frame.Hello{ClientID: []byte("raw-test")}))
	f := r.Read()
	if f.Type != frame.TypeHelloOK {
		t.Fatalf("handshake answered %s", f.Type)
	}
	return r
}

// NextCorr returns a fresh correlation id.
func (r *Raw) NextCorr() uint64 { r.corr++; return r.corr }

// Write sends bytes as they are.
func (r *Raw) Write(b []byte) {
	r.t.Helper()
	if err := r.Send(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// Send sends bytes as they are and returns the error; unlike Write it may
// be called from any goroutine.
func (r *Raw) Send(b []byte) error {
	_ = r.conn.SetWriteDeadline(time.Now().Add(Timeout))
	_, err := r.conn.Write(b)
	return err
}

// Read reads one frame (body copied).
func (r *Raw) Read() frame.Frame {
	r.t.Helper()
	f, err := r.TryRead()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return f
}

// TryRead reads one frame or returns the read error.
func (r *Raw) TryRead() (frame.Frame, error) {
	_ = r.conn.SetReadDeadline(time.Now().Add(Timeout))
	var hdr [4]byte
	if _, err := io.ReadFull(r.br, hdr[:]); err != nil {
		return frame.Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 64<<20 {
		return frame.Frame{}, errors.New("nodetest: absurd frame length from server")
	}
	b := make([]byte, 4+n)
	copy(b, hdr[:])
	if _, err := io.ReadFull(r.br, b[4:]); err != nil {
		return frame.Frame{}, err
	}
	f, _, err := frame.Decode(b, len(b))
	return f, err
}

// ExpectError reads frames until an ERROR and returns its code.
func (r *Raw) ExpectError() frame.Code {
	r.t.Helper()
	for {
		f := r.Read()
		if f.Type == frame.TypeError {
			code, _, err := frame.DecodeError(f.Body)
			if err != nil {
				r.t.Fatal(err)
			}
			return code
		}
	}
}

// ExpectClosed reads until the server closes the connection.
func (r *Raw) ExpectClosed() {
	r.t.Helper()
	for {
		if _, err := r.TryRead(); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return
			}
			r.t.Fatalf("want the server to close the connection, got %v", err)
		}
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// Close closes the connection.
func (r *Raw) Close() { _ = r.conn.Close() }
