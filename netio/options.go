package netio

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/frame"
)

// Defaults for Options; a zero field means "use the default".
const (
	// DefaultAddr is the listen address.
	DefaultAddr = "127.0.0.1:9001"
	// DefaultMaxConns is the most connections served at once.
	DefaultMaxConns = 10000
	// DefaultMaxFrame is the largest frame, header included.
	DefaultMaxFrame = frame.DefaultMaxFrame
	// DefaultCredits is the most requests a connection may have outstanding.
	DefaultCredits = 1024
	// DefaultHandshakeTimeout is how long a new connection has to send HELLO.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultIdleTimeout is how long a connection may stay idle (no whole
	// frame received, no request outstanding) before it is closed. The Go
	// client PINGs a quiet connection every client.DefaultKeepAlive (20s),
	// well within it.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxConnsPerIP is the most connections served at once from one
	// client IP address.
	DefaultMaxConnsPerIP = 1024
	// DefaultInboundFrames is MaxInbound's default in units of MaxFrame.
	DefaultInboundFrames = 32
	// DefaultMaxOutbound is the most bytes queued for writing to one
	// connection (at least two max frames: EnsureDefaults takes the larger).
	DefaultMaxOutbound = 8 << 20
	// DefaultMaxBuffered is the node-wide budget of bytes held for clients
	// (requests handed on and not yet done, replies not yet written). The
	// stages copy a request on its way (the log record, the Pebble batch),
	// so what it bounds costs about three times as much memory.
	DefaultMaxBuffered = 64 << 20
	// DefaultMaxPipeline is the most bytes of one connection's requests
	// handed on and not yet done.
	DefaultMaxPipeline = 256 << 10
	// DefaultWriteStallTimeout is how long queued replies may make no write
	// progress before the connection is closed with SLOW_CONSUMER.
	DefaultWriteStallTimeout = 10 * time.Second
	// DefaultFlowControlPenalty is the first penalty of an address whose
	// connection was closed with FLOW_CONTROL (see FlowControlPenalty).
	DefaultFlowControlPenalty = time.Second
)

// MinMaxFrame is the smallest max frame a server or a client may set: a
// frame header plus room for an ERROR message.
const MinMaxFrame = 256

// Options configures a Server. Zero fields take the DefaultX values (see
// EnsureDefaults); Validate lists every bad value.
type Options struct {
	// Addr is the TCP listen address, host:port; port 0 picks a free port
	// (Server.Addr reports it). It speaks TLS 1.3 only when TLS is set,
	// plaintext otherwise.
	Addr string
	// TLS, when set, makes the listener at Addr a crypto/tls listener that
	// speaks TLS 1.3 only: the server uses a clone whose MinVersion is
	// raised to tls.VersionTLS13 whatever the caller set, also in the
	// configs its GetConfigForClient returns (a MaxVersion below TLS 1.3
	// is invalid). It needs a certificate (Certificates,
	// GetCertificate or GetConfigForClient); ClientAuth and ClientCAs turn
	// on mutual TLS. ServerTLSConfig builds one from PEM files. TLS
	// connections are served by two goroutines each rather than gnet's
	// event loops (see the package documentation).
	TLS *tls.Config
	// PlainAddr, with TLS set, is an additional plaintext (gnet) listener,
	// host:port, for trusted networks and benchmarks; empty means none.
	// Without TLS it must be empty: Addr is the plaintext listener then.
	// Server.PlainAddr reports its address.
	PlainAddr string
	// NodeID names this node in HELLO_OK.
	NodeID string
	// Partitions is the cluster's partition count, sent in HELLO_OK.
	Partitions uint32
	// Multicore runs one gnet event loop per CPU (unless NumEventLoop is
	// set); plaintext listener only.
	Multicore bool
	// NumEventLoop is the number of gnet event loops; 0 means 1, or one per
	// CPU with Multicore.
	NumEventLoop int
	// MaxConns is the most connections served at once, counted over every
	// listener (TLS connections from accept, before their TLS handshake); a
	// connection beyond it gets ERROR TOO_MANY_CONNECTIONS and is closed.
	MaxConns int
	// MaxFrame is the largest frame accepted or sent, header included;
	// every connection uses it (a HELLO asking for less is refused).
	MaxFrame int
	// Credits is the most requests a connection may have outstanding; HELLO
	// asks for some and HELLO_OK grants at most this, and no more than
	// MaxInbound / max frame (see the package documentation).
	Credits uint32
	// HandshakeTimeout is how long a connection may take to send HELLO
	// before ERROR HANDSHAKE_TIMEOUT closes it, counted from accept: on the
	// TLS listener it bounds the TLS handshake too (a client that does not
	// complete it in time is closed without a frame, as it has no TLS
	// session to receive one).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection (ERROR IDLE_TIMEOUT) that has sent no
	// whole frame, and has no request outstanding or held back, for this
	// long (default DefaultIdleTimeout; negative turns it off). A FETCH
	// held in a long poll is outstanding, so it does not count as idle;
	// a partial frame does. Quiet clients should PING within it.
	IdleTimeout time.Duration
	// MaxConnsPerIP is the most connections served at once from one client
	// IP address (default DefaultMaxConnsPerIP; negative: no limit); one
	// beyond it gets ERROR TOO_MANY_CONNECTIONS and is closed.
	MaxConnsPerIP int
	// MaxInbound is the most bytes a connection may have received but not
	// yet handed on; beyond it ERROR FLOW_CONTROL closes the connection.
	// Default DefaultInboundFrames × MaxFrame. A TLS connection's reader
	// never buffers more than this (it stops reading instead), so TLS
	// clients that ignore their credits are slowed by TCP, not closed.
	MaxInbound int
	// MaxOutbound is the most bytes queued for writing to a connection
	// (netio's queue plus gnet's, or netio's queue on TLS while the writer
	// is blocked on the socket); beyond it ERROR SLOW_CONSUMER closes it.
	// From half of it on, netio hands on none of the connection's requests
	// until its replies drain (see the package documentation, Memory).
	// Default: the larger of DefaultMaxOutbound and two MaxFrame.
	MaxOutbound int
	// ProducerKey (ProducerKeySize random bytes, kept secret and stable
	// across restarts) makes the server open producer sessions (PRODUCER):
	// it derives each session's token from it. nil answers PRODUCER with
	// BAD_REQUEST.
	ProducerKey []byte
	// Leaders, when set, answers METADATA: an epoch that grows whenever a
	// leader changes, and per partition (one entry each) the client
	// address of its leader, "" while it has none. netio only reads the
	// slice it returns. It is called on the goroutine serving the
	// connection, so it must not block. nil means a single node, which
	// leads every partition (docs/protocol.md, METADATA).
	Leaders func() (epoch uint64, addrs []string)
	// Limits are listed in HELLO_OK, to a client that asks for them
	// (frame.FlagLimits), after the limits netio itself enforces (idle,
	// handshake and write-stall timeouts, max outbound, largest message
	// and batch): the settings of the other stages a client must know,
	// such as the FETCH caps, ack timeout and max deliver. netio only
	// reads the slice.
	Limits []frame.Limit
	// ProducerWindow is what PRODUCER_OK tells a client: the most messages
	// of its session it may have unacknowledged (the server recognises a
	// retry of any of them).
	ProducerWindow uint32
	// MaxPipeline is the most bytes of one connection's requests handed on
	// and not yet released by the stages; while it is reached, the
	// connection's further requests wait (counted against its credits). A
	// connection with none in the pipeline may always hand one on, however
	// large. It keeps a few connections from filling the stages' queues
	// ahead of everyone else's requests.
	MaxPipeline int
	// MaxBuffered is the node-wide budget of bytes netio holds for clients:
	// requests handed on and not yet released by the stages, plus replies
	// not yet written to the socket. While it is spent, netio hands on no
	// request of a connection that already has bytes held (backpressure);
	// see the package documentation, Memory.
	MaxBuffered int64
	// WriteStallTimeout closes a connection with ERROR SLOW_CONSUMER when
	// its queued replies make no write progress for this long.
	WriteStallTimeout time.Duration
	// FlowControlPenalty is how long, after a connection is closed with
	// FLOW_CONTROL, new connections from its remote IP address are refused
	// at accept (ERROR TOO_MANY_CONNECTIONS, nothing read); it doubles each
	// time the address offends again within 30s of its penalty's end, up to
	// 30s (or FlowControlPenalty if longer). Default
	// DefaultFlowControlPenalty; negative turns it off. See penalty.go.
	FlowControlPenalty time.Duration
	// Logger receives connection events at debug level and failures at
	// error level; nil discards them.
	Logger *slog.Logger
	// Metrics is the set the swarmmq_netio_* metrics are created in; nil
	// means a private set nobody reads. Use one Server per set.
	Metrics *metrics.Set
	// Hooks are optional callbacks; nil fields are no-ops.
	Hooks Hooks
}

// Hooks are optional callbacks a Server calls on the goroutines serving its
// connections (gnet event loops, TLS readers). They must not block.
type Hooks struct {
	// OnClose is called once for every connection that was accepted (not
	// rejected by MaxConns or shutdown) when it closes, after it has stopped
	// accepting Send, on either listener.
	OnClose func(c *Conn)
}

// EnsureDefaults fills zero fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.Credits == 0 {
		o.Credits = DefaultCredits
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if o.MaxInbound == 0 {
		o.MaxInbound = DefaultInboundFrames * o.MaxFrame
	}
	if o.MaxOutbound == 0 {
		o.MaxOutbound = max(DefaultMaxOutbound, 2*o.MaxFrame)
	}
	if o.MaxPipeline == 0 {
		o.MaxPipeline = DefaultMaxPipeline
	}
	if o.MaxBuffered == 0 {
		o.MaxBuffered = DefaultMaxBuffered
	}
	if o.WriteStallTimeout == 0 {
		o.WriteStallTimeout = DefaultWriteStallTimeout
	}
	if o.FlowControlPenalty == 0 {
		o.FlowControlPenalty = DefaultFlowControlPenalty
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Hooks.OnClose == nil {
		o.Hooks.OnClose = func(*Conn) {}
	}
	return o
}

// Validate reports every invalid field in one error.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("netio: "+format, args...))
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		bad("addr %q: %v", o.Addr, err)
	}
	o.validateTLS(bad)
	if len(o.NodeID) > math.MaxUint16 {
		bad("node id is %d bytes, at most %d", len(o.NodeID), math.MaxUint16)
	}
	if o.Partitions == 0 {
		bad("partitions must be at least 1")
	}
	if o.NumEventLoop < 0 {
		bad("num event loop %d is negative", o.NumEventLoop)
	}
	if o.MaxConns < 1 {
		bad("max conns %d, must be at least 1", o.MaxConns)
	}
	if o.MaxFrame < MinMaxFrame || o.MaxFrame > math.MaxUint32 {
		bad("max frame %d, must be in [%d, %d]", o.MaxFrame, MinMaxFrame, uint32(math.MaxUint32))
	}
	if o.HandshakeTimeout < 0 {
		bad("handshake timeout %v is negative", o.HandshakeTimeout)
	}
	if o.MaxInbound < o.MaxFrame {
		bad("max inbound %d is below max frame %d", o.MaxInbound, o.MaxFrame)
	}
	if o.MaxOutbound < o.MaxFrame {
		bad("max outbound %d is below max frame %d", o.MaxOutbound, o.MaxFrame)
	}
	if n := len(o.ProducerKey); n != 0 && n != ProducerKeySize {
		bad("producer key of %d bytes, want %d", n, ProducerKeySize)
	}
	if o.MaxPipeline < 0 {
		bad("max pipeline %d is negative", o.MaxPipeline)
	}
	if o.MaxBuffered < int64(o.MaxFrame) {
		bad("max buffered %d is below max frame %d", o.MaxBuffered, o.MaxFrame)
	}
	if o.WriteStallTimeout < 0 {
		bad("write stall timeout %v is negative", o.WriteStallTimeout)
	}
	seen := map[frame.LimitID]bool{}
	for _, l := range (&Server{opts: *o}).limits(o.MaxFrame) {
		if l.ID == 0 || seen[l.ID] {
			bad("limit %v is 0 or listed twice (netio lists %v itself)", l.ID, l.ID)
		}
		seen[l.ID] = true
	}
	return errors.Join(errs...)
}

// validateTLS checks TLS and PlainAddr.
func (o *Options) validateTLS(bad func(format string, args ...any)) {
	if o.TLS == nil {
		if o.PlainAddr != "" {
			bad("plain addr %q is set without tls: addr is the plaintext listener then", o.PlainAddr)
		}
		return
	}
	if o.TLS.MaxVersion != 0 && o.TLS.MaxVersion < tls.VersionTLS13 {
		bad("tls max version %s is below TLS 1.3, the only version served", tls.VersionName(o.TLS.MaxVersion))
	}
	if len(o.TLS.Certificates) == 0 && o.TLS.GetCertificate == nil && o.TLS.GetConfigForClient == nil {
		bad("tls config has no certificate")
	}
	if o.PlainAddr != "" {
		if _, _, err := net.SplitHostPort(o.PlainAddr); err != nil {
			bad("plain addr %q: %v", o.PlainAddr, err)
		}
	}
}
