package netproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echo starts a line echo server and returns its address and a stop func.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	conns := make(chan net.Conn, 16)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		close(conns)
		for c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

// roundTrip sends a line and reads it back within timeout.
func roundTrip(c net.Conn, r *bufio.Reader, timeout time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return errors.New("echoed " + line)
	}
	return nil
}

func TestForward(t *testing.T) {
	p := newProxy(t, echo(t))
	c, r := dial(t, p)
	for range 3 {
		if err := roundTrip(c, r, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResetClosesAndRefuses(t *testing.T) {
	p := newProxy(t, echo(t))
	c, r := dial(t, p)
	if err := roundTrip(c, r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Cut(Reset)
	if err := roundTrip(c, r, 5*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("after a reset cut: %v, want a closed connection", err)
	}
	// The kernel accepts; the proxy resets it at once (the dial itself may
	// see the reset).
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		err = roundTrip(c2, bufio.NewReader(c2), 5*time.Second)
		_ = c2.Close()
		if err == nil || isTimeout(err) {
			t.Fatalf("new connection during the cut: %v, want it closed", err)
		}
	}
	p.Heal()
	c3, r3 := dial(t, p)
	if err := roundTrip(c3, r3, 5*time.Second); err != nil {
		t.Fatalf("after heal: %v", err)
	}
}

func TestBlackholeHoldsThenHeals(t *testing.T) {
	p := newProxy(t, echo(t))
	c, r := dial(t, p)
	if err := roundTrip(c, r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Cut(Blackhole)
	if err := roundTrip(c, r, 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("through a blackhole: %v, want a timeout", err)
	}
	c2, r2 := dial(t, p)
	if err := roundTrip(c2, r2, 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("new connection into a blackhole: %v, want a timeout", err)
	}
	p.Heal()
	// The held line of the first connection arrives now, then a new one.
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("held bytes after heal: %q, %v", line, err)
	}
	if err := roundTrip(c, r, 5*time.Second); err != nil {
		t.Fatalf("after heal: %v", err)
	}
	_ = c2.SetDeadline(time.Now().Add(5 * time.Second))
	if line, err := r2.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("connection accepted during the blackhole, after heal: %q, %v", line, err)
	}
}

func TestDelay(t *testing.T) {
	p := newProxy(t, echo(t))
	c, r := dial(t, p)
	p.Delay(100*time.Millisecond, 50*time.Millisecond)
	start := time.Now()
	if err := roundTrip(c, r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("round trip took %v with 150ms of added delay", took)
	}
	p.Delay(0, 0)
	if err := roundTrip(c, r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
