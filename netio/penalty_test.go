package netio

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
)

// TestPenaltiesBackoff: the first offence costs the base, an offence while
// penalized changes nothing, each offence after the penalty ended but
// before the quiet period doubles it up to the ceiling, and a quiet address
// starts over.
func TestPenaltiesBackoff(t *testing.T) {
	p := newPenalties(time.Second, 16)
	a := netip.MustParseAddr("10.0.0.1")
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	require.Equal(t, at(time.Second), p.penalize(a, t0))
	require.Equal(t, at(time.Second), p.penalize(a, at(500*time.Millisecond)), "while penalized")
	until, refused := p.refused(a, at(999*time.Millisecond))
	require.True(t, refused)
	require.Equal(t, at(time.Second), until)
	_, refused = p.refused(a, at(time.Second))
	require.False(t, refused, "expired")

	now := at(time.Second)
	want := []time.Duration{2, 4, 8, 16, 30, 30}
	for _, w := range want {
		until := p.penalize(a, now)
		require.Equal(t, now.Add(w*time.Second), until)
		now = until
	}
	// Quiet for penaltyQuiet after the last penalty ended: forgotten.
	now = now.Add(penaltyQuiet)
	_, refused = p.refused(a, now)
	require.False(t, refused)
	require.Zero(t, p.len())
	require.Equal(t, now.Add(time.Second), p.penalize(a, now), "starts over")

	off := newPenalties(0, 16)
	off.penalize(a, t0)
	_, refused = off.refused(a, t0)
	require.False(t, refused)
}

// TestPenaltiesBounded: the table never holds more than its size; the
// address penalized longest ago is forgotten first.
func TestPenaltiesBounded(t *testing.T) {
	p := newPenalties(time.Minute, 4)
	now := time.Unix(1000, 0)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
	for i := range 10 {
		p.penalize(addr(i), now.Add(time.Duration(i)*time.Millisecond))
	}
	require.Equal(t, 4, p.len())
	for i := range 10 {
		_, refused := p.refused(addr(i), now.Add(time.Second))
		require.Equal(t, i >= 6, refused, "address %d", i)
	}
}

// dialFrom connects to the server from the local IP address ip.
func (e *env) dialFrom(ip string) *client {
	e.t.Helper()
	d := net.Dialer{Timeout: waitTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	nc, err := d.Dial("tcp", e.srv.Addr().String())
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = nc.Close() })
	return &client{t: e.t, nc: nc}
}

// flowControl has a new connection from ip exceed its 2 credits and
// checks it is closed with FLOW_CONTROL.
func (e *env) flowControl(ip string) {
	e.t.Helper()
	c := e.dialFrom(ip)
	require.EqualValues(e.t, 2, c.hello(2, 0).Credits)
	c.write(append(append(fetchFrame(1, "g"), fetchFrame(2, "g")...), fetchFrame(3, "g")...))
	_, f := c.readUntilError()
	code, _, err := frame.DecodeError(f.Body)
	require.NoError(e.t, err)
	require.Equal(e.t, frame.CodeFlowControl, code)
	c.expectEOF()
}

// TestFlowControlPenalty: after FLOW_CONTROL, a new connection from the
// same address is refused at accept with TOO_MANY_CONNECTIONS saying why,
// and nothing it sends is read; another address is served; once the
// penalty has passed, the address is served again.
func TestFlowControlPenalty(t *testing.T) {
	opts := testOptions()
	opts.FlowControlPenalty = 500 * time.Millisecond
	e := startEnv(t, opts, 64)
	e.flowControl("127.0.0.1")
	require.Equal(t, 2, e.ring.Len())
	frames := e.srv.metrics.framesIn.Get()

	c := e.dialFrom("127.0.0.1")
	f := c.read()
	require.Equal(t, frame.TypeError, f.Type)
	code, msg, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeTooManyConnections, code)
	require.Contains(t, string(msg), "penalized for exceeding its credits: retry after")
	// Whatever it sends now is never read: the server has closed.
	_, _ = c.nc.Write(append(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("x")}), fetchFrame(9, "g")...))
	c.expectEOF()
	require.Equal(t, frames, e.srv.metrics.framesIn.Get(), "no frame of the refused connection was read")
	require.Equal(t, 2, e.ring.Len(), "nothing handed on")
	require.EqualValues(t, 1, e.srv.metrics.penalizedRefused.Get())

	other := e.dialFrom("127.0.0.2")
	other.hello(2, 0)
	other.ping(7)

	// The penalty expires: poll until a connection from 127.0.0.1 gets
	// HELLO_OK.
	eventually(t, func() bool {
		c := e.dialFrom("127.0.0.1")
		c.write(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("again")}))
		f, _, err := c.next()
		_ = c.nc.Close()
		return err == nil && f.Type == frame.TypeHelloOK
	}, "the penalty to expire")
}

// TestFlowControlPenaltyOff: with a negative FlowControlPenalty the
// address is served again at once.
func TestFlowControlPenaltyOff(t *testing.T) {
	opts := testOptions()
	opts.FlowControlPenalty = -1
	e := startEnv(t, opts, 64)
	e.flowControl("127.0.0.1")
	c := e.dialFrom("127.0.0.1")
	c.hello(2, 0)
	c.ping(1)
	require.Zero(t, e.srv.metrics.penalizedRefused.Get())
}

// TestPenalizedRefusalHeld: the refusal of a connection from a penalized
// address is held — the connection is not read, and its ERROR comes
// refuseHold after the accept (the penalty lasts longer) — so a client
// that redials at once dials once per refuseHold; beyond maxHeldRefusals
// held at once, a refusal is answered at once.
func TestPenalizedRefusalHeld(t *testing.T) {
	opts := testOptions()
	opts.FlowControlPenalty = time.Minute
	e := startEnv(t, opts, 64)
	e.flowControl("127.0.0.1")
	frames := e.srv.metrics.framesIn.Get()

	start := time.Now()
	c := e.dialFrom("127.0.0.1")
	c.write(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("again")}))
	eventually(t, func() bool { return e.srv.heldRefusals() == 1 }, "the refusal to be held")
	f := c.read()
	require.GreaterOrEqual(t, time.Since(start), refuseHold, "answered before its hold")
	require.Equal(t, frame.TypeError, f.Type)
	code, msg, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeTooManyConnections, code)
	require.Contains(t, string(msg), "penalized for exceeding its credits: retry after")
	c.expectEOF()
	require.Equal(t, frames, e.srv.metrics.framesIn.Get(), "no frame of the refused connection was read")
	require.Zero(t, e.srv.heldRefusals())

	// Fill the holds; the next refusal is answered at once.
	for range maxHeldRefusals {
		e.dialFrom("127.0.0.1")
	}
	eventually(t, func() bool { return e.srv.heldRefusals() == maxHeldRefusals }, "every refusal to be held")
	start = time.Now()
	c = e.dialFrom("127.0.0.1")
	c.expectError(frame.CodeTooManyConnections)
	require.Less(t, time.Since(start), refuseHold)
	require.EqualValues(t, maxHeldRefusals+2, e.srv.metrics.penalizedRefused.Get())
}
