package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swarmmq/swarmmq/seal"
)

// Defaults of Options.
const (
	// DefaultCredits is how many outstanding requests a client asks for in
	// HELLO; the server's grant is what bounds it.
	DefaultCredits = 1024
	// DefaultDialTimeout bounds connecting plus the HELLO exchange.
	DefaultDialTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds one request, from submission to reply
	// (a FETCH gets its long-poll wait on top).
	DefaultRequestTimeout = 30 * time.Second
	// DefaultReconnectWait is the pause after the second failed attempt;
	// it doubles after each further failure.
	DefaultReconnectWait = 100 * time.Millisecond
	// DefaultMaxReconnectWait caps the doubling pause between attempts.
	DefaultMaxReconnectWait = 2 * time.Second
	// DefaultKeepAlive is how long a connection may stay silent before
	// the client sends a PING: a third of a SwarmMQ node's default idle
	// timeout (60s), so a quiet client is never closed as idle. HELLO_OK
	// does not carry the node's idle timeout; set KeepAlive below it when
	// a node is configured with a shorter one.
	DefaultKeepAlive = 20 * time.Second
)

// minMaxFrame is the smallest max frame a client must accept
// (docs/protocol.md, HELLO).
const minMaxFrame = 4096

// Options configures a Client. The zero value of every field but Addr means
// "use the default". Options is a plain value, not safe for concurrent
// mutation.
type Options struct {
	// Addr is the node's client address, host:port, or a comma-separated
	// list of them: the seeds of a cluster ("h1:9001,h2:9001"). The Client
	// asks the first seed that answers which node leads each partition
	// (METADATA) and sends each destination's requests to its
	// partition's leader, following leadership as it moves (see the
	// package documentation, Clusters). Any one live seed is enough.
	Addr string
	// ClientID names the client in the server's logs and metrics; the
	// default is "<hostname>-<pid>".
	ClientID string
	// Credits is how many outstanding requests to ask for in HELLO
	// (default DefaultCredits). The server's grant bounds the requests
	// the client has in flight at once; further requests wait for a
	// reply to free a credit.
	Credits uint32
	// MaxFrame is the largest whole frame, header included, the client
	// sends or accepts. The default, 0, sends max_frame 0 in HELLO (no
	// limit of the client's own) and uses the node's max frame, which is
	// always accepted. A value of at least 4096 is a limit of the client's
	// own: a SwarmMQ node refuses the connection (BAD_REQUEST, naming both
	// sizes) if it is below the node's max frame, since the node could then
	// hold a message it can never deliver on the connection.
	MaxFrame int
	// DialTimeout bounds connecting plus the HELLO exchange (default
	// DefaultDialTimeout).
	DialTimeout time.Duration
	// RequestTimeout bounds each request unless its context ends sooner
	// (default DefaultRequestTimeout). A FETCH may take its wait on top. A
	// Publisher's batch counts from when the writer takes it; its messages
	// then fail with ErrTimeout (checked every RequestTimeout/4, at most
	// every second).
	RequestTimeout time.Duration
	// TLS, when set, dials the node over TLS with this config (the node
	// speaks TLS 1.3 only; see netio/tlsconf.Client). An empty ServerName
	// is taken from the host of each address dialled (a seed, or a
	// leader's address from METADATA), so a cluster's certificates must
	// name the addresses its nodes advertise.
	TLS *tls.Config
	// NoReconnect turns reconnecting off: the first lost connection fails
	// every outstanding request and the client. By default the client
	// reconnects and sends the outstanding requests again (see the package
	// documentation).
	NoReconnect bool
	// Session, when set, is resumed on the first connection instead of
	// opening a new producer session (see Client.Session).
	Session Session
	// MaxReconnects, when positive, bounds the connection attempts of one
	// outage: after that many failed attempts in a row while no node is
	// reachable, the client fails every outstanding request and stops
	// (StateClosed). It also bounds Dial's rounds over the seeds. The
	// default, 0 (or negative), is no bound: the Client reconnects for as
	// long as it lives, pausing between attempts as ReconnectWait and
	// MaxReconnectWait say, and its requests wait within their own
	// timeouts, so a long-running service needs no code to revive it.
	MaxReconnects int
	// ReconnectWait is the pause before the second attempt of an outage
	// (the first one is immediate); it doubles after every failure, up to
	// MaxReconnectWait, with ±20% jitter (default DefaultReconnectWait).
	// Dial pauses the same way between its rounds over the seeds.
	ReconnectWait time.Duration
	// MaxReconnectWait caps the pause between attempts (default
	// DefaultMaxReconnectWait).
	MaxReconnectWait time.Duration
	// KeepAlive is how long the client may go without writing before it
	// sends a PING, so that a server's idle timeout does not close a quiet
	// connection (default DefaultKeepAlive; negative: never).
	KeepAlive time.Duration
	// Logger receives connection events (lost, reconnected, gave up);
	// the default discards them.
	Logger *slog.Logger
	// Keyring, when set, turns sealing on: every published payload is
	// sealed (AES-256-GCM, package seal) with the keyring's current key,
	// bound to its message header, and every delivery is authenticated
	// and decrypted; one that fails, is sealed with a key the keyring
	// lacks, or is not sealed at all comes with Delivery.Err instead of
	// a payload. nil (the default) publishes unsealed payloads (key id
	// 0) and hands deliveries over as they are, refusing sealed ones.
	// Load it with seal/keyfile.Read.
	Keyring *seal.Keyring
	// PublishErrorHandler, when set, is called with the error of every
	// message a Publisher failed to store that was published without a
	// callback (Publisher.Publish with a nil done). It runs on the
	// Publisher's callback goroutine (see Publisher.Publish), in publish
	// order. With or without it, Publisher.Flush and Close report such
	// failures (ErrPublishFailed), so none vanishes.
	PublishErrorHandler func(error)
	// OnConnState, when set, is called with every change of a
	// connection's state: connected, disconnected (with the error),
	// reconnected, and last closed (see ConnState). It runs on a
	// goroutine of its own, one event at a time, in order, never on a
	// connection's reader: a slow handler delays only the events after
	// it (at most maxQueuedEvents wait; further ones are dropped and
	// counted in ConnEvent.Dropped, never StateClosed). It may call the
	// Client, but not Close or Drain, which wait for StateClosed to be
	// delivered.
	OnConnState func(ConnEvent)
	// Hooks are called on the Client's events: publish results, fetches,
	// settlements, connections (see Hook). For metrics and tracing
	// adapters.
	Hooks []Hook
}

// EnsureDefaults replaces every zero field but Addr by its default.
func (o *Options) EnsureDefaults() {
	if o.ClientID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "client"
		}
		o.ClientID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.Credits == 0 {
		o.Credits = DefaultCredits
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.ReconnectWait == 0 {
		o.ReconnectWait = DefaultReconnectWait
	}
	if o.MaxReconnectWait == 0 {
		o.MaxReconnectWait = DefaultMaxReconnectWait
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// seeds returns the addresses of Addr, in order, without blanks and
// repeats.
func (o Options) seeds() []string {
	var out []string
	for a := range strings.SplitSeq(o.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Validate reports every invalid field at once.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("client: "+format, args...))
	}
	seeds := o.seeds()
	if len(seeds) == 0 {
		bad("addr %q is not host:port", o.Addr)
	}
	for _, a := range seeds {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("addr %q is not host:port", a)
		}
	}
	if len(o.ClientID) > math.MaxUint16 {
		bad("client id is longer than %d bytes", math.MaxUint16)
	}
	if o.MaxFrame != 0 && (o.MaxFrame < minMaxFrame || int64(o.MaxFrame) > math.MaxUint32) {
		bad("max frame %d out of range %d..%d", o.MaxFrame, minMaxFrame, uint32(math.MaxUint32))
	}
	if o.DialTimeout < 0 {
		bad("dial timeout must not be negative")
	}
	if o.RequestTimeout < 0 {
		bad("request timeout must not be negative")
	}
	if o.ReconnectWait < 0 {
		bad("reconnect wait must not be negative")
	}
	if o.MaxReconnectWait < o.ReconnectWait {
		bad("max reconnect wait %v is less than reconnect wait %v", o.MaxReconnectWait, o.ReconnectWait)
	}
	return errors.Join(errs...)
}
