package client

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
)

// logSignal is a slog.Handler that sends on c each record whose message
// contains match, without blocking (the channel is large).
type logSignal struct {
	match string
	c     chan struct{}
}

func newLogSignal(match string) *logSignal {
	return &logSignal{match: match, c: make(chan struct{}, 1<<16)}
}

func (h *logSignal) Enabled(context.Context, slog.Level) bool { return true }
func (h *logSignal) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logSignal) WithGroup(string) slog.Handler            { return h }
func (h *logSignal) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.match) {
		select {
		case h.c <- struct{}{}:
		default:
		}
	}
	return nil
}

// wait waits for n more matching records.
func (h *logSignal) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(testTimeout)
	for range n {
		select {
		case <-h.c:
		case <-timeout:
			t.Fatalf("timed out waiting for log %q", h.match)
		}
	}
}

// eventLog collects connection events.
type eventLog struct{ c chan ConnEvent }

func newEventLog() *eventLog { return &eventLog{c: make(chan ConnEvent, 1024)} }

func (e *eventLog) handle(ev ConnEvent) { e.c <- ev }

// next waits for the next event.
func (e *eventLog) next(t *testing.T) ConnEvent {
	t.Helper()
	select {
	case ev := <-e.c:
		return ev
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for a connection event")
		return ConnEvent{}
	}
}

// TestOutageLongerThanOldBudget: the node goes away for more failed
// connection attempts than the 20 that used to end a Client, and comes
// back: the Client reconnects by itself, a publish made during the
// outage is stored, publishing goes on, and the events arrive in order.
func TestOutageLongerThanOldBudget(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	failed := newLogSignal("connect failed")
	events := newEventLog()
	c := dial(t, s, func(o *Options) {
		o.MaxReconnectWait = 5 * time.Millisecond
		o.Logger = slog.New(failed)
		o.OnConnState = events.handle
	})
	require.Equal(t, ConnEvent{State: StateConnected, Addr: s.Addr()}, events.next(t))
	_, err := c.Publish(testCtx(t), "q", []byte("before"))
	require.NoError(t, err)

	s.Stop()
	ev := events.next(t)
	require.Equal(t, StateDisconnected, ev.State)
	require.Equal(t, s.Addr(), ev.Addr)
	require.Error(t, ev.Err)
	during := make(chan error, 1)
	go func() {
		_, err := c.Publish(testCtx(t), "q", []byte("during"))
		during <- err
	}()
	failed.wait(t, 30)
	require.NoError(t, s.Resume())

	require.Equal(t, ConnEvent{State: StateReconnected, Addr: s.Addr()}, events.next(t))
	require.NoError(t, <-during)
	_, err = c.Publish(testCtx(t), "q", []byte("after"))
	require.NoError(t, err)
	var got []string
	for _, m := range s.Messages("q") {
		got = append(got, string(m.Payload))
	}
	require.Equal(t, []string{"before", "during", "after"}, got)
	require.Equal(t, uint64(1), c.Stats().Reconnects)

	c.Close()
	require.Equal(t, ConnEvent{State: StateClosed}, events.next(t))
}

// TestDialRetriesSeeds: Dial keeps trying while no seed is reachable and
// connects once one comes up.
func TestDialRetriesSeeds(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	other := startServer(t, clienttest.Options{})
	s.Stop()
	other.Stop()
	rounds := newLogSignal("no seed reachable")
	type result struct {
		c   *Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Dial(testCtx(t), Options{Addr: s.Addr() + "," + other.Addr(), ReconnectWait: time.Millisecond,
			MaxReconnectWait: 5 * time.Millisecond, Logger: slog.New(rounds)})
		done <- result{c, err}
	}()
	rounds.wait(t, 3)
	require.NoError(t, other.Resume())
	r := <-done
	require.NoError(t, r.err)
	t.Cleanup(r.c.Close)
	require.Equal(t, clienttest.DefaultNodeID, r.c.NodeID())
	_, err := r.c.Publish(testCtx(t), "q", []byte("x"))
	require.NoError(t, err)
}

// TestDialGivesUp: with a deadline, or a bound on the rounds, Dial ends
// and names every seed; a refused handshake is not retried.
func TestDialGivesUp(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	s.Stop()
	_, err := Dial(testCtx(t), Options{Addr: s.Addr(), ReconnectWait: time.Millisecond, MaxReconnects: 3})
	require.ErrorContains(t, err, "dial "+s.Addr())

	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	_, err = Dial(ctx, Options{Addr: s.Addr(), ReconnectWait: time.Millisecond})
	require.ErrorContains(t, err, "dial "+s.Addr())
}

// TestGiveUpEvents: a bounded Client that gives up says so with
// StateClosed and the reason.
func TestGiveUpEvents(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	events := newEventLog()
	c := dial(t, s, func(o *Options) {
		o.MaxReconnects = 2
		o.OnConnState = events.handle
	})
	require.Equal(t, StateConnected, events.next(t).State)
	s.Stop()
	require.Equal(t, StateDisconnected, events.next(t).State)
	_, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.ErrorIs(t, err, ErrConnectionLost)
	ev := events.next(t)
	require.Equal(t, StateClosed, ev.State)
	require.ErrorIs(t, ev.Err, ErrConnectionLost)
}

// TestSlowEventHandler: a handler that blocks does not hold up the
// Client; the events past the bound are dropped and counted (the event
// goroutine holds at most one taken batch besides the queue).
func TestSlowEventHandler(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	release := make(chan struct{})
	const emitted = 2*maxQueuedEvents + 10 // more than the taken batch and the queue hold
	got := make(chan ConnEvent, emitted+2)
	c := dial(t, s, func(o *Options) {
		o.OnConnState = func(ev ConnEvent) {
			<-release
			got <- ev
		}
	})
	for range emitted {
		c.ev.emit(ConnEvent{State: StateDisconnected, Addr: "x"})
	}
	_, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.NoError(t, err, "the Client works while its handler is stuck")
	close(release)
	c.Close()
	dropped, n := 0, 0
	for ev := range got {
		n++
		dropped += ev.Dropped
		if ev.State == StateClosed {
			break
		}
	}
	require.Equal(t, emitted+2, n+dropped, "every event delivered or counted")
	require.Positive(t, dropped)
}
