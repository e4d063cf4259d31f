package client

import (
	"time"
)

// Hook is a value that implements one or more of the Hook* interfaces of
// this package; Options.Hooks takes any number of them. An adapter for a
// metrics or tracing system (OpenTelemetry, Prometheus) implements the
// events it cares about and ignores the rest, so new events can be added
// without breaking it.
//
// Hooks are called synchronously on the goroutine named in each
// interface, never on a connection's reader: a slow hook delays the
// goroutine that calls it (a Publisher's callbacks, the caller of
// Fetch), never the Client's replies. A hook must not block for long
// and must be safe for concurrent use: several goroutines call it.
type Hook any

// HookPublishAck is called once per published message, with its result
// and the time from Publish to the result (the round trip, any retries
// included): by a Publisher on its callback goroutine, before the
// message's done callback; by Client.Publish and its variants on the
// calling goroutine, before they return.
type HookPublishAck interface {
	OnPublishAck(dest string, r PublishResult, latency time.Duration)
}

// HookPublish is called with each message before it is encoded, on the
// publishing goroutine (Publisher.Publish and PublishMsg, Client.Publish
// and its variants), so that an adapter can add headers: trace context
// (traceparent), a schema id. m.Headers is a copy the hook may change (a
// new map when the message had none); the hook must not keep m. The
// headers it sets follow the rules of Headers; a message whose headers
// break them fails alone (BAD_HEADERS).
type HookPublish interface {
	OnPublish(dest string, m *Message)
}

// HookConnect is called when a connection to the node at addr is made
// (reconnect: after one to it was lost), on the Client's event goroutine
// (see Options.OnConnState).
type HookConnect interface {
	OnConnect(addr string, reconnect bool)
}

// HookDisconnect is called when a connection to the node at addr is lost,
// with why, on the Client's event goroutine.
type HookDisconnect interface {
	OnDisconnect(addr string, err error)
}

// HookFetch is called after each Fetch (also Consume's), on the fetching
// goroutine: n deliveries arrived after latency (a long poll's wait
// included), or err.
type HookFetch interface {
	OnFetch(dest, group string, n int, latency time.Duration, err error)
}

// SettleKind is how deliveries were settled, in HookSettle.
type SettleKind uint8

// The settlements HookSettle reports.
const (
	SettleAck SettleKind = iota + 1
	SettleNak
	SettleTerm
)

// String returns the kind's name in lower case ("ack", "nak", "term").
func (k SettleKind) String() string {
	switch k {
	case SettleAck:
		return "ack"
	case SettleNak:
		return "nak"
	case SettleTerm:
		return "term"
	}
	return "unknown"
}

// HookSettle is called after each ACK, NACK or TERM the Client sent for n
// deliveries (Delivery.Ack, Client.Ack, Consume's settlements, …) was
// answered, or failed with err, on the goroutine that settled them.
type HookSettle interface {
	OnSettle(dest, group string, kind SettleKind, n int, err error)
}

// hooks holds Options.Hooks sorted by the events they take. Read-only
// after Dial; a nil *hooks has none.
type hooks struct {
	publish    []HookPublish
	publishAck []HookPublishAck
	connect    []HookConnect
	disconnect []HookDisconnect
	fetch      []HookFetch
	settle     []HookSettle
}

// newHooks sorts hs by interface; nil when none implements any.
func newHooks(hs []Hook) *hooks {
	h := &hooks{}
	any := false
	for _, x := range hs {
		if v, ok := x.(HookPublish); ok {
			h.publish, any = append(h.publish, v), true
		}
		if v, ok := x.(HookPublishAck); ok {
			h.publishAck, any = append(h.publishAck, v), true
		}
		if v, ok := x.(HookConnect); ok {
			h.connect, any = append(h.connect, v), true
		}
		if v, ok := x.(HookDisconnect); ok {
			h.disconnect, any = append(h.disconnect, v), true
		}
		if v, ok := x.(HookFetch); ok {
			h.fetch, any = append(h.fetch, v), true
		}
		if v, ok := x.(HookSettle); ok {
			h.settle, any = append(h.settle, v), true
		}
	}
	if !any {
		return nil
	}
	return h
}

// onPublish returns m as the publish hooks leave it, with headers of its
// own (the caller's map is never written). Only called when publishes():
// m escapes to the hooks, so the publish path without them stays free of
// allocations.
func (h *hooks) onPublish(dest string, m Message) Message {
	m.Headers = m.Headers.Clone()
	if m.Headers == nil {
		m.Headers = Headers{}
	}
	for _, x := range h.publish {
		x.OnPublish(dest, &m)
	}
	return m
}

// publishes reports whether a hook sees messages before they are encoded.
func (h *hooks) publishes() bool {
	return h != nil && len(h.publish) > 0
}

// conn reports whether a hook takes connection events.
func (h *hooks) conn() bool {
	return h != nil && len(h.connect)+len(h.disconnect) > 0
}

// acks reports whether a hook takes publish results.
func (h *hooks) acks() bool {
	return h != nil && len(h.publishAck) > 0
}

func (h *hooks) onConn(ev ConnEvent) {
	if h == nil {
		return
	}
	switch ev.State {
	case StateConnected, StateReconnected:
		for _, x := range h.connect {
			x.OnConnect(ev.Addr, ev.State == StateReconnected)
		}
	case StateDisconnected:
		for _, x := range h.disconnect {
			x.OnDisconnect(ev.Addr, ev.Err)
		}
	}
}

func (h *hooks) onPublishAck(dest string, r PublishResult, latency time.Duration) {
	if h == nil {
		return
	}
	for _, x := range h.publishAck {
		x.OnPublishAck(dest, r, latency)
	}
}

func (h *hooks) onFetch(dest, group string, n int, latency time.Duration, err error) {
	if h == nil {
		return
	}
	for _, x := range h.fetch {
		x.OnFetch(dest, group, n, latency, err)
	}
}

func (h *hooks) onSettle(dest, group string, kind SettleKind, n int, err error) {
	if h == nil {
		return
	}
	for _, x := range h.settle {
		x.OnSettle(dest, group, kind, n, err)
	}
}
