package peer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
)

// Defaults for the zero fields of Options.
const (
	// DefaultMaxFrame is the largest whole frame a link accepts.
	DefaultMaxFrame = 4 << 20
	// DefaultQueueBytes bounds the encoded frames waiting for one peer's
	// writer; a Send beyond it is dropped.
	DefaultQueueBytes = 8 << 20
	// DefaultDialTimeout bounds a dial, the TLS handshake included.
	DefaultDialTimeout = 2 * time.Second
	// DefaultHandshakeTimeout bounds the PEER_HELLO exchange, on both sides.
	DefaultHandshakeTimeout = 2 * time.Second
	// DefaultBackoffMin is the first delay between two dials of a peer.
	DefaultBackoffMin = 50 * time.Millisecond
	// DefaultBackoffMax caps the delay between two dials of a peer.
	DefaultBackoffMax = time.Second
	// DefaultHeartbeat is how long a link may send nothing before its
	// writer sends a PING.
	DefaultHeartbeat = 250 * time.Millisecond
	// DefaultIdleTimeout is how long a link may receive nothing before it
	// is closed as dead (then redialled).
	DefaultIdleTimeout = 2 * time.Second
	// DefaultWriteTimeout bounds one write; a peer that does not read for
	// that long has its link closed.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds a Call whose context has no deadline.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultMaxPending bounds the requests in flight to one peer.
	DefaultMaxPending = 4096
)

// Options configure a Transport. The zero value of a field means its
// default; ID, ClusterName, Partitions, ListenAddr and Handler are required.
type Options struct {
	// ID is this node's id, as listed in the cluster configuration.
	ID string
	// ClusterName must be the same on every node of the cluster.
	ClusterName string
	// Partitions is the cluster's partition count; it must be the same on
	// every node.
	Partitions uint32
	// Peers maps every other node's id to its peer address (host:port).
	// An entry for ID itself is ignored, so the whole node list may be
	// given.
	Peers map[string]string
	// ListenAddr is the address to accept links on, such as ":9101" or
	// "127.0.0.1:0".
	ListenAddr string
	// Listener, when set, is used instead of listening on ListenAddr (the
	// transport closes it).
	Listener net.Listener
	// TLS, when set, runs every link over TLS 1.3 with certificates on
	// both sides: Certificates is this node's certificate (presented as
	// server and as client), RootCAs the CAs peers are verified against
	// (see [TLSConfig]). Nil means plaintext.
	TLS *tls.Config
	// Handler receives what peers send.
	Handler Handler
	// Logger receives the transport's log lines; nil discards them.
	Logger *slog.Logger
	// Metrics receives the per-peer metrics; nil keeps them in a private
	// set.
	Metrics *metrics.Set

	// MaxFrame is the largest whole frame this node accepts and sends.
	MaxFrame int
	// QueueBytes bounds the frames queued for one peer.
	QueueBytes int
	// DialTimeout bounds a dial and its TLS handshake.
	DialTimeout time.Duration
	// HandshakeTimeout bounds the PEER_HELLO exchange.
	HandshakeTimeout time.Duration
	// BackoffMin and BackoffMax bound the delay between dials of a peer
	// that cannot be reached: it doubles from BackoffMin up to BackoffMax,
	// and a random half of it is added or left out (jitter).
	BackoffMin, BackoffMax time.Duration
	// Heartbeat is how long a link may send nothing before a PING.
	Heartbeat time.Duration
	// IdleTimeout is how long a link may receive nothing before it is
	// closed; it must be longer than Heartbeat.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write.
	WriteTimeout time.Duration
	// RequestTimeout bounds a Call whose context has no deadline.
	RequestTimeout time.Duration
	// MaxPending bounds the calls in flight to one peer.
	MaxPending int
	// Seed seeds the jitter of the dial backoff; 0 draws one.
	Seed uint64
}

// EnsureDefaults fills the zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxFrame, DefaultMaxFrame)
	def(&o.QueueBytes, DefaultQueueBytes)
	def(&o.MaxPending, DefaultMaxPending)
	dur(&o.DialTimeout, DefaultDialTimeout)
	dur(&o.HandshakeTimeout, DefaultHandshakeTimeout)
	dur(&o.BackoffMin, DefaultBackoffMin)
	dur(&o.BackoffMax, DefaultBackoffMax)
	dur(&o.Heartbeat, DefaultHeartbeat)
	dur(&o.IdleTimeout, DefaultIdleTimeout)
	dur(&o.WriteTimeout, DefaultWriteTimeout)
	dur(&o.RequestTimeout, DefaultRequestTimeout)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
}

// Validate lists every problem of o (after EnsureDefaults).
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.ID == "" {
		bad("peer: ID is required")
	}
	if o.ClusterName == "" {
		bad("peer: ClusterName is required")
	}
	if o.Partitions == 0 {
		bad("peer: Partitions must be at least 1")
	}
	if o.ListenAddr == "" && o.Listener == nil {
		bad("peer: ListenAddr or Listener is required")
	}
	if o.Handler == nil {
		bad("peer: Handler is required")
	}
	for id, addr := range o.Peers {
		if id == "" || addr == "" {
			bad("peer: peer %q has an empty id or address %q", id, addr)
		}
	}
	if o.MaxFrame < 4096 || o.MaxFrame < frame.HeaderSize {
		bad("peer: MaxFrame %d is below 4096", o.MaxFrame)
	}
	if o.QueueBytes < o.MaxFrame {
		bad("peer: QueueBytes %d is below MaxFrame %d", o.QueueBytes, o.MaxFrame)
	}
	if o.IdleTimeout <= o.Heartbeat {
		bad("peer: IdleTimeout %v must be longer than Heartbeat %v", o.IdleTimeout, o.Heartbeat)
	}
	if o.BackoffMax < o.BackoffMin {
		bad("peer: BackoffMax %v is below BackoffMin %v", o.BackoffMax, o.BackoffMin)
	}
	if o.TLS != nil && len(o.TLS.Certificates) == 0 {
		bad("peer: TLS needs this node's certificate (Certificates)")
	}
	if o.TLS != nil && o.TLS.RootCAs == nil {
		bad("peer: TLS needs the peers' CA (RootCAs)")
	}
	if o.MaxPending <= 0 {
		bad("peer: MaxPending must be positive")
	}
	return errors.Join(errs...)
}
