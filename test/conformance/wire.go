package conformance

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultWithin is how long an expectation waits when its step names no
// within_ms.
const DefaultWithin = 5 * time.Second

// maxRead bounds the frames the runner accepts from a node.
const maxRead = 64 << 20

// Node is the node a scenario runs against.
type Node interface {
	// Addr is the client address, host:port.
	Addr() string
	// Stop asks the node to stop and returns at once.
	Stop()
}

// wireConn is one connection of a scenario and its reader.
type wireConn struct {
	nc     net.Conn
	frames chan []byte   // whole frames as they arrive; closed when the connection is
	quit   chan struct{} // closed by the runner: the reader stops handing frames on
	err    error         // why the reader stopped; read after frames is closed
}

func dialWire(addr string) (*wireConn, error) {
	nc, err := net.DialTimeout("tcp", addr, DefaultWithin)
	if err != nil {
		return nil, err
	}
	c := &wireConn{nc: nc, frames: make(chan []byte, 64), quit: make(chan struct{})}
	go c.read()
	return c, nil
}

// read hands every whole frame on until the connection ends.
func (c *wireConn) read() {
	defer close(c.frames)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			c.err = err
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxRead {
			c.err = fmt.Errorf("frame length %d from the node", n)
			return
		}
		b := make([]byte, 4+n)
		copy(b, hdr[:])
		if _, err := io.ReadFull(c.nc, b[4:]); err != nil {
			c.err = fmt.Errorf("connection ended inside a frame: %w", err)
			return
		}
		select {
		case c.frames <- b:
		case <-c.quit:
			return
		}
	}
}

func (c *wireConn) close() {
	_ = c.nc.Close()
	close(c.quit)
	for range c.frames { // wait for the reader
	}
}

// RunWire runs s's steps against node and returns the first failure.
func RunWire(s *Scenario, node Node) error {
	conns := map[string]*wireConn{}
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	last := time.Now()
	for i, st := range s.Steps {
		name := st.Conn
		if name == "" {
			name = "a"
		}
		c := conns[name]
		if c == nil && !st.StopNode {
			var err error
			if c, err = dialWire(node.Addr()); err != nil {
				return stepError(i, st, name, err)
			}
			conns[name] = c
		}
		if err := runStep(c, st, last, node); err != nil {
			return stepError(i, st, name, err)
		}
		last = time.Now()
	}
	return nil
}

func stepError(i int, st Step, conn string, err error) error {
	what := "step"
	switch {
	case st.Send != nil:
		what = "send " + frameName(st.Send)
	case st.Expect != nil:
		what = "expect " + frameName(st.Expect)
	case st.ExpectClosed:
		what = "expect close"
	case st.ExpectSilenceMS > 0:
		what = "expect silence"
	}
	if st.Note != "" {
		return fmt.Errorf("step %d (conn %s, %s: %s): %w", i, conn, what, st.Note, err)
	}
	return fmt.Errorf("step %d (conn %s, %s): %w", i, conn, what, err)
}

func frameName(w *Wire) string {
	if t, ok := w.Frame["type"].(string); ok {
		return t
	}
	return "raw bytes"
}

func runStep(c *wireConn, st Step, last time.Time, node Node) error {
	within := DefaultWithin
	if st.WithinMS > 0 {
		within = time.Duration(st.WithinMS) * time.Millisecond
	}
	notBefore := time.Duration(st.NotBeforeMS) * time.Millisecond
	timer := time.NewTimer(time.Until(last.Add(within)))
	defer timer.Stop()
	switch {
	case st.StopNode:
		node.Stop()
	case st.Close:
		_ = c.nc.Close()
	case st.Send != nil:
		b, err := parseHex(st.Send.Hex)
		if err != nil {
			return err
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(within))
		if _, err := c.nc.Write(b); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	case st.Expect != nil:
		select {
		case b, ok := <-c.frames:
			if !ok {
				return fmt.Errorf("connection closed (%w) instead", c.err)
			}
			if err := early(last, notBefore); err != nil {
				return err
			}
			return checkFrame(st.Expect, b)
		case <-timer.C:
			return fmt.Errorf("nothing within %v", within)
		}
	case st.ExpectClosed:
		select {
		case b, ok := <-c.frames:
			if ok {
				return fmt.Errorf("got %s instead of a close", describe(b))
			}
			return early(last, notBefore)
		case <-timer.C:
			return fmt.Errorf("still open after %v", within)
		}
	case st.ExpectSilenceMS > 0:
		timer.Reset(time.Until(last.Add(time.Duration(st.ExpectSilenceMS) * time.Millisecond)))
		select {
		case b, ok := <-c.frames:
			if ok {
				return fmt.Errorf("got %s", describe(b))
			}
			return fmt.Errorf("connection closed (%w)", c.err)
		case <-timer.C:
		}
	}
	return nil
}

// early fails if the event came sooner than notBefore after last.
func early(last time.Time, notBefore time.Duration) error {
	if took := time.Since(last); took < notBefore {
		return fmt.Errorf("came after %v, want not before %v", took.Round(time.Millisecond), notBefore)
	}
	return nil
}

// checkFrame compares a frame received with an expectation.
func checkFrame(want *Wire, b []byte) error {
	if want.Hex != "" {
		w, err := parseHex(want.Hex)
		if err != nil {
			return err
		}
		if !bytes.Equal(w, b) {
			return fmt.Errorf("bytes differ:\n got  %s\n want %s\n got  %s\n want %s", formatHex(b), formatHex(w), describe(b), show(want.Frame))
		}
	}
	got, err := decode(b)
	if err != nil {
		return fmt.Errorf("%w (bytes %s)", err, formatHex(b))
	}
	if err := match("frame", normalize(want.Frame), got); err != nil {
		return fmt.Errorf("%w\n got %s", err, show(got))
	}
	return nil
}

// describe prints a frame's structured form, or why it has none.
func describe(b []byte) string {
	m, err := decode(b)
	if err != nil {
		return fmt.Sprintf("undecodable frame (%v): %s", err, formatHex(b))
	}
	return show(m)
}

var errNoAddr = errors.New("conformance: the node logged no client address")
