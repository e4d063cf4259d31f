package client

import (
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Limits are the limits and defaults a node announced in HELLO_OK
// (docs/protocol.md, HELLO_OK): what the connection negotiated, and, from a
// node that lists them, the settings a client must obey. A plain value.
type Limits struct {
	// NodeID is the node that sent them.
	NodeID string
	// MaxFrame, Credits and Partitions are HELLO_OK's fixed fields: the
	// largest whole frame either side sends, the requests the Client may
	// have outstanding on the connection, the cluster's partition count.
	MaxFrame, Credits, Partitions int

	// Listed reports whether the node listed the limits below (nodes
	// before protocol limits did not: then they are all zero).
	Listed bool
	// MaxMessage is the largest message (44-byte header and payload) the
	// node stores and can deliver; MaxBatch the most messages in one
	// PUBLISH (0: what fits in MaxFrame).
	MaxMessage, MaxBatch int
	// FetchDefault is the batch of a fetch asking for 0 messages; FetchMax
	// caps the messages one fetch asks for; MaxWait caps its long poll.
	FetchDefault, FetchMax int
	MaxWait                time.Duration
	// IdleTimeout closes a connection that sent nothing and waits for
	// nothing this long (0: never); HandshakeTimeout is the time a new
	// connection has to send HELLO; WriteStallTimeout and MaxOutbound
	// bound the replies a connection leaves unread (SLOW_CONSUMER).
	IdleTimeout, HandshakeTimeout, WriteStallTimeout time.Duration
	MaxOutbound                                      int
	// AckTimeout and MaxDeliver are the node's delivery defaults (a
	// destination may have its own): an unacknowledged delivery comes back
	// after AckTimeout, and after MaxDeliver attempts (0: unlimited) moves
	// to the dead-letter destination.
	AckTimeout time.Duration
	MaxDeliver int
	// MaxProgress is how many times Delivery.InProgress may push one
	// delivery's ack deadline out (0: the node did not say).
	MaxProgress int
	// DedupeWindow and DedupeMax bound how long, and how many, application
	// ids (PublishWithID) a partition remembers; ProducerIdle is how long a
	// producer session's dedupe state outlives its last message.
	DedupeWindow, ProducerIdle time.Duration
	DedupeMax                  int
	// MaxHeaderBytes and MaxHeaderCount bound a message's header block
	// (Message.Headers): its encoded size and its fields. A node that
	// lists them accepts headers; one that does not (both 0) predates
	// them, and the Client refuses to publish headers to it.
	MaxHeaderBytes, MaxHeaderCount int
}

// Limits returns what the node of the Client's latest handshake announced
// in HELLO_OK (the zero Limits before any).
func (c *Client) Limits() Limits {
	if l := c.limits.Load(); l != nil {
		return *l
	}
	return Limits{}
}

// limitsOf converts a HELLO_OK; limits of IDs this version does not know
// are skipped, as the protocol requires.
func limitsOf(ok frame.HelloOK) Limits {
	l := Limits{NodeID: string(ok.NodeID), MaxFrame: int(ok.MaxFrame), Credits: int(ok.Credits),
		Partitions: int(ok.Partitions), Listed: ok.Limits != nil}
	ms := func(v uint64) time.Duration {
		return time.Duration(min(v, uint64(1<<63-1)/uint64(time.Millisecond))) * time.Millisecond
	}
	n := func(v uint64) int { return int(min(v, 1<<31-1)) }
	for _, e := range ok.Limits {
		switch e.ID {
		case frame.LimitIdleTimeoutMS:
			l.IdleTimeout = ms(e.Value)
		case frame.LimitHandshakeTimeoutMS:
			l.HandshakeTimeout = ms(e.Value)
		case frame.LimitMaxWaitMS:
			l.MaxWait = ms(e.Value)
		case frame.LimitFetchDefault:
			l.FetchDefault = n(e.Value)
		case frame.LimitFetchMax:
			l.FetchMax = n(e.Value)
		case frame.LimitMaxBatch:
			l.MaxBatch = n(e.Value)
		case frame.LimitMaxMessage:
			l.MaxMessage = n(e.Value)
		case frame.LimitAckTimeoutMS:
			l.AckTimeout = ms(e.Value)
		case frame.LimitMaxDeliver:
			l.MaxDeliver = n(e.Value)
		case frame.LimitDedupeWindowMS:
			l.DedupeWindow = ms(e.Value)
		case frame.LimitDedupeMax:
			l.DedupeMax = n(e.Value)
		case frame.LimitProducerIdleMS:
			l.ProducerIdle = ms(e.Value)
		case frame.LimitWriteStallTimeoutMS:
			l.WriteStallTimeout = ms(e.Value)
		case frame.LimitMaxOutbound:
			l.MaxOutbound = n(e.Value)
		case frame.LimitMaxHeaderBytes:
			l.MaxHeaderBytes = n(e.Value)
		case frame.LimitMaxHeaderCount:
			l.MaxHeaderCount = n(e.Value)
		case frame.LimitMaxProgress:
			l.MaxProgress = n(e.Value)
		}
	}
	return l
}
