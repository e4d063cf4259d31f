package frame

import (
	"encoding/binary"
	"strconv"
)

// FlagLimits, in the header flags of a HELLO, asks the server to list the
// limits a client must obey in HELLO_OK; in the flags of a HELLO_OK, it says
// that the body ends with that list (HelloOK.Limits). A server that
// predates it ignores the bit and answers the older HELLO_OK without it, so
// a client that sets it must accept either; a client that does not set it
// always gets the older layout.
const FlagLimits uint16 = 1

// Hello is the body of HELLO, the first frame a client sends. A decoded
// Hello is safe for concurrent reads.
type Hello struct {
	// ClientID names the client in logs and metrics; it may be empty.
	ClientID []byte
	// Credits is how many requests the client wants to have outstanding;
	// 0 asks for the server's maximum.
	Credits uint32
	// MaxFrame is the largest whole frame the client accepts; 0 means no
	// limit of the client's own.
	MaxFrame uint32
	// WantLimits sets FlagLimits: the client asks for HelloOK.Limits.
	WantLimits bool
}

// HelloOK is the body of HELLO_OK, the server's answer to HELLO: the values
// in force on this connection. A decoded HelloOK is safe for concurrent
// reads.
type HelloOK struct {
	// NodeID names the server node.
	NodeID []byte
	// Credits is how many requests the client may have outstanding.
	Credits uint32
	// MaxFrame is the largest whole frame either side may send.
	MaxFrame uint32
	// Partitions is the number of partitions of the cluster.
	Partitions uint32
	// Limits, when not nil, is sent after Partitions with FlagLimits: the
	// server's limits and defaults a client must know, one entry per
	// LimitID, in the order given. nil sends the older layout (no flag).
	Limits []Limit
}

// LimitID names one entry of HELLO_OK's limits. IDs are only ever added,
// never renumbered; a receiver skips IDs it does not know (a newer server
// may send them). A LimitID is a plain value, safe for concurrent use.
type LimitID uint16

// The limits a SwarmMQ server sends in HELLO_OK (docs/protocol.md, §3
// HELLO_OK and §11). Durations are in milliseconds; "0 = none" means the
// server applies no such limit.
const (
	// LimitIdleTimeoutMS: a connection with no whole frame received and
	// no request outstanding this long is closed (0 = never).
	LimitIdleTimeoutMS LimitID = 1
	// LimitHandshakeTimeoutMS: the time a new connection has to send HELLO.
	LimitHandshakeTimeoutMS LimitID = 2
	// LimitMaxWaitMS caps a FETCH's wait_ms (long poll).
	LimitMaxWaitMS LimitID = 3
	// LimitFetchDefault is the FETCH max used when a FETCH asks for 0.
	LimitFetchDefault LimitID = 4
	// LimitFetchMax caps a FETCH's max.
	LimitFetchMax LimitID = 5
	// LimitMaxBatch is the most messages in one PUBLISH (0 = what fits
	// in the max frame).
	LimitMaxBatch LimitID = 6
	// LimitMaxMessage is the largest message (header and payload) the
	// server stores and can deliver on this connection.
	LimitMaxMessage LimitID = 7
	// LimitAckTimeoutMS: an unacknowledged delivery is delivered again
	// after this (the node's default; a destination may differ).
	LimitAckTimeoutMS LimitID = 8
	// LimitMaxDeliver: deliveries to a group after which a message moves
	// to the dead-letter destination (0 = unlimited; the node's default).
	LimitMaxDeliver LimitID = 9
	// LimitDedupeWindowMS: how long an application id is remembered.
	LimitDedupeWindowMS LimitID = 10
	// LimitDedupeMax: the most application ids a partition remembers.
	LimitDedupeMax LimitID = 11
	// LimitProducerIdleMS: how long a producer session's dedupe state
	// outlives its last message to a partition.
	LimitProducerIdleMS LimitID = 12
	// LimitWriteStallTimeoutMS: replies that make no write progress this
	// long close the connection with SLOW_CONSUMER.
	LimitWriteStallTimeoutMS LimitID = 13
	// LimitMaxOutbound: the most reply bytes queued for a connection
	// before SLOW_CONSUMER.
	LimitMaxOutbound LimitID = 14
	// LimitMaxProgress: how many times PROGRESS may push out one
	// delivery's ack deadline (docs/protocol.md §3, TERM and PROGRESS).
	LimitMaxProgress LimitID = 15
	// LimitMaxHeaderBytes: the largest header block of a message, its
	// length fields included (docs/protocol.md §6). A server that lists it
	// accepts messages with headers.
	LimitMaxHeaderBytes LimitID = 16
	// LimitMaxHeaderCount: the most fields in a message's header block.
	LimitMaxHeaderCount LimitID = 17
)

// limitNames is a lookup table indexed by LimitID: the names used in
// docs/protocol.md and the conformance scenarios.
var limitNames = [...]string{
	LimitIdleTimeoutMS:       "idle_timeout_ms",
	LimitHandshakeTimeoutMS:  "handshake_timeout_ms",
	LimitMaxWaitMS:           "max_wait_ms",
	LimitFetchDefault:        "fetch_default",
	LimitFetchMax:            "fetch_max",
	LimitMaxBatch:            "max_batch",
	LimitMaxMessage:          "max_message",
	LimitAckTimeoutMS:        "ack_timeout_ms",
	LimitMaxDeliver:          "max_deliver",
	LimitDedupeWindowMS:      "dedupe_window_ms",
	LimitDedupeMax:           "dedupe_max",
	LimitProducerIdleMS:      "producer_idle_ms",
	LimitWriteStallTimeoutMS: "write_stall_timeout_ms",
	LimitMaxOutbound:         "max_outbound",
	LimitMaxProgress:         "max_progress",
	LimitMaxHeaderBytes:      "max_header_bytes",
	LimitMaxHeaderCount:      "max_header_count",
}

// String returns the lower-case name of id, such as "max_wait_ms", or
// "limit(n)" for an ID this version does not know.
func (id LimitID) String() string {
	if id.Known() {
		return limitNames[id]
	}
	return "limit(" + strconv.Itoa(int(id)) + ")"
}

// Known reports whether id is a limit of this version of the protocol.
func (id LimitID) Known() bool {
	return id != 0 && int(id) < len(limitNames)
}

// LimitByName returns the LimitID whose String is name.
func LimitByName(name string) (LimitID, bool) {
	for id, n := range limitNames {
		if n == name && n != "" {
			return LimitID(id), true
		}
	}
	return 0, false
}

// Limit is one entry of HELLO_OK's limits: a plain value.
type Limit struct {
	ID    LimitID
	Value uint64
}

// limitSize is the wire size of one Limit: id u16 | value u64.
const limitSize = 10

// Lookup returns the value of limit id in h.Limits.
func (h HelloOK) Lookup(id LimitID) (uint64, bool) {
	for _, l := range h.Limits {
		if l.ID == id {
			return l.Value, true
		}
	}
	return 0, false
}

var (
	errLimitID  = &Error{Code: CodeMalformed, Msg: "HELLO_OK limit id 0"}
	errLimitDup = &Error{Code: CodeMalformed, Msg: "HELLO_OK limit listed twice"}
)

// AppendHello appends a whole HELLO frame (with FlagLimits if
// h.WantLimits).
func AppendHello(dst []byte, corr uint64, h Hello) []byte {
	start := len(dst)
	hdr := Header{Version: Version, Type: TypeHello, Corr: corr}
	if h.WantLimits {
		hdr.Flags = FlagLimits
	}
	dst = AppendHeader(dst, hdr)
	dst = appendStr(dst, h.ClientID)
	dst = binary.BigEndian.AppendUint32(dst, h.Credits)
	dst = binary.BigEndian.AppendUint32(dst, h.MaxFrame)
	PatchLength(dst, start)
	return dst
}

// DecodeHello decodes a HELLO body; see DecodeHelloFlags.
func DecodeHello(body []byte) (Hello, error) { return DecodeHelloFlags(body, 0) }

// DecodeHelloFlags decodes a HELLO body sent with the header flags flags.
// ClientID is a view into body, valid as long as body is not modified or
// reused. Errors have CodeMalformed.
func DecodeHelloFlags(body []byte, flags uint16) (Hello, error) {
	r := reader{b: body}
	h := Hello{ClientID: r.str(), Credits: r.u32(), MaxFrame: r.u32(), WantLimits: flags&FlagLimits != 0}
	if err := r.end(); err != nil {
		return Hello{}, err
	}
	return h, nil
}

// AppendHelloOK appends a whole HELLO_OK frame; corr is the HELLO's. With
// h.Limits not nil it sets FlagLimits and appends count u16 | count × (id
// u16 | value u64); only the first 65535 entries are sent.
func AppendHelloOK(dst []byte, corr uint64, h HelloOK) []byte {
	start := len(dst)
	hdr := Header{Version: Version, Type: TypeHelloOK, Corr: corr}
	if h.Limits != nil {
		hdr.Flags = FlagLimits
	}
	dst = AppendHeader(dst, hdr)
	dst = appendStr(dst, h.NodeID)
	dst = binary.BigEndian.AppendUint32(dst, h.Credits)
	dst = binary.BigEndian.AppendUint32(dst, h.MaxFrame)
	dst = binary.BigEndian.AppendUint32(dst, h.Partitions)
	if h.Limits != nil {
		limits := h.Limits[:min(len(h.Limits), 0xffff)]
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(limits)))
		for _, l := range limits {
			dst = binary.BigEndian.AppendUint16(dst, uint16(l.ID))
			dst = binary.BigEndian.AppendUint64(dst, l.Value)
		}
	}
	PatchLength(dst, start)
	return dst
}

// DecodeHelloOK decodes a HELLO_OK body without FlagLimits; see
// DecodeHelloOKFlags.
func DecodeHelloOK(body []byte) (HelloOK, error) { return DecodeHelloOKFlags(body, 0) }

// DecodeHelloOKFlags decodes a HELLO_OK body sent with the header flags
// flags. NodeID is a view into body, valid as long as body is not modified
// or reused; Limits is a new slice (not nil with FlagLimits, even when
// empty), which keeps IDs this version does not know. A limit ID of 0 or
// one listed twice is malformed. Errors have CodeMalformed.
func DecodeHelloOKFlags(body []byte, flags uint16) (HelloOK, error) {
	r := reader{b: body}
	h := HelloOK{NodeID: r.str(), Credits: r.u32(), MaxFrame: r.u32(), Partitions: r.u32()}
	if flags&FlagLimits != 0 {
		n := int(r.u16())
		raw := r.take(n * limitSize)
		if err := r.end(); err != nil {
			return HelloOK{}, err
		}
		h.Limits = make([]Limit, n)
		var seen [1 << 16 / 64]uint64 // a bit per LimitID
		for i := range h.Limits {
			b := raw[i*limitSize:]
			l := Limit{ID: LimitID(binary.BigEndian.Uint16(b)), Value: binary.BigEndian.Uint64(b[2:])}
			if l.ID == 0 {
				return HelloOK{}, errLimitID
			}
			if seen[l.ID/64]&(1<<(l.ID%64)) != 0 {
				return HelloOK{}, errLimitDup
			}
			seen[l.ID/64] |= 1 << (l.ID % 64)
			h.Limits[i] = l
		}
	}
	if err := r.end(); err != nil {
		return HelloOK{}, err
	}
	return h, nil
}
