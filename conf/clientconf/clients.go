// Package clientconf holds the kong command lines of producer-client,
// consumer-client and swarmctl (ctl.go). It is apart from conf so the client binaries do not link
// the node (gnet, Pebble) that conf configures.
package clientconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio/tlsconf"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/seal/keyfile"
)

// Defaults of the client commands that no package owns.
const (
	// DefaultNode is the node the client commands dial.
	DefaultNode = "localhost:9001"
	// DefaultGroup is consumer-client's consumer group.
	DefaultGroup = "default"
	// DefaultSize is producer-client's payload size without --message.
	DefaultSize = 128
	// DefaultIdleTimeout is when consumer-client stops if nothing arrives,
	// unless --follow or --count says otherwise.
	DefaultIdleTimeout = 2 * time.Second
)

// ClientVars are the kong variables the client commands' defaults refer
// to; pass them to kong.Parse.
func ClientVars() kong.Vars {
	return kong.Vars{
		"default_node":    DefaultNode,
		"default_window":  strconv.Itoa(client.DefaultWindow),
		"default_fetch":   strconv.Itoa(client.DefaultConsumeBatch),
		"default_timeout": client.DefaultRequestTimeout.String(),
		"default_group":   DefaultGroup,
		"default_size":    strconv.Itoa(DefaultSize),
	}
}

// ProducerFlags is the command line of producer-client (parsed by kong
// with ClientVars); the help tags document the fields.
type ProducerFlags struct {
	Node        string        `help:"Address of a SwarmMQ node, or a comma-separated list of a cluster's nodes (seeds: any live one is enough; requests go to each partition's leader) (default: ${default})." default:"${default_node}" placeholder:"HOST:PORT[,HOST:PORT…]"`
	Destination string        `short:"d" help:"Destination to publish to (1-251 bytes of [A-Za-z0-9._-])." required:"" placeholder:"NAME"`
	Message     string        `short:"m" help:"Message text; with --count N > 1 message i is TEXT-i (i from 1)." placeholder:"TEXT"`
	Count       int           `short:"n" help:"Number of messages (default 1, or every line with --stdin)." placeholder:"N"`
	Size        int           `help:"Payload size in bytes when there is no --message (default: ${default_size})." placeholder:"BYTES"`
	Stdin       bool          `help:"Publish each line of standard input as one message."`
	Rate        float64       `help:"At most this many messages per second; 0 = unlimited." default:"0" placeholder:"MSGS/S"`
	ID          string        `name:"id" help:"Publish under application ids derived from KEY, one message at a time: message i's id is SHA-256(KEY-i)[:16] (SHA-256(KEY)[:16] for a single message), so running the same command again within the node's dedupe_window stores nothing twice (docs/protocol.md §8)." placeholder:"KEY"`
	Window      int           `help:"Messages in flight without an ack (asynchronous, batched); 1 = synchronous, one at a time (default: ${default})." default:"${default_window}" placeholder:"N"`
	Batch       int           `help:"Most messages per PUBLISH frame (default 0: the client library's, window/4 and at least 256)." placeholder:"N"`
	Timeout     time.Duration `help:"How long one request, and the final wait for outstanding acks, may take (default: ${default})." default:"${default_timeout}" placeholder:"DURATION"`
	ClientID    string        `name:"client-id" help:"Client id sent in HELLO (default <hostname>-<pid>)." placeholder:"ID"`
	KeyFile     string        `name:"key-file" help:"Keyring file (YAML, docs/sealing.md): seal every payload with its current key (AES-256-GCM). Without it payloads are published unsealed." placeholder:"FILE"`
	Header      []string      `name:"header" short:"H" help:"A header sent with every message, KEY=VALUE (repeatable; a key given twice gets both values). Keys are 1-255 letters, digits or !#$%&'*+-.^_|~ (or a backquote), exact case; values UTF-8 (docs/protocol.md §6)." placeholder:"KEY=VALUE" sep:"none"`
	TLS         TLSFlags      `embed:""`
	Progress    bool          `help:"Show the progress bar on stderr even when it is not a terminal."`
	Verbose     bool          `short:"v" help:"Log connection events (reconnects) on stderr."`
}

// Validate reports every problem of the flags at once.
func (f ProducerFlags) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if f.Count < 0 {
		bad("--count %d must not be negative", f.Count)
	}
	if f.Size < 0 {
		bad("--size %d must not be negative", f.Size)
	}
	if f.Size > 0 && (f.Message != "" || f.Stdin) {
		bad("--size applies only without --message and --stdin")
	}
	if f.Message != "" && f.Stdin {
		bad("--message and --stdin exclude each other")
	}
	if f.Rate < 0 {
		bad("--rate %g must not be negative", f.Rate)
	}
	if f.Window < 1 {
		bad("--window %d must be at least 1", f.Window)
	}
	if f.Batch < 0 {
		bad("--batch %d must not be negative", f.Batch)
	}
	if f.Timeout <= 0 {
		bad("--timeout %v must be positive", f.Timeout)
	}
	if _, err := f.Headers(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Headers returns the --header flags as message headers (nil for none),
// or every malformed one: a flag without "=", a key that is not 1-255
// token characters, a value that is not UTF-8.
func (f ProducerFlags) Headers() (client.Headers, error) {
	var h client.Headers
	var errs []error
	for _, kv := range f.Header {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("--header %q: want KEY=VALUE", kv))
		case !frame.ValidHeaderKey(k):
			errs = append(errs, fmt.Errorf("--header %q: the key must be 1-255 letters, digits or !#$%%&'*+-.^_`|~", kv))
		case !utf8.ValidString(v):
			errs = append(errs, fmt.Errorf("--header %q: the value is not valid UTF-8", kv))
		default:
			if h == nil {
				h = client.Headers{}
			}
			h.Add(k, v)
		}
	}
	return h, errors.Join(errs...)
}

// ClientOptions returns the client options the flags ask for, without
// the keyring (see LoadKeyring).
func (f ProducerFlags) ClientOptions(log *slog.Logger) client.Options {
	return client.Options{Addr: f.Node, ClientID: f.ClientID, RequestTimeout: f.Timeout, Logger: log}
}

// ConsumerFlags is the command line of consumer-client (parsed by kong
// with ClientVars); the help tags document the fields.
type ConsumerFlags struct {
	Node        string        `help:"Address of a SwarmMQ node, or a comma-separated list of a cluster's nodes (seeds: any live one is enough; requests go to each partition's leader) (default: ${default})." default:"${default_node}" placeholder:"HOST:PORT[,HOST:PORT…]"`
	Destination string        `short:"d" help:"Destination to consume." required:"" placeholder:"NAME"`
	Group       string        `short:"g" help:"Consumer group; its members share the messages (default: ${default})." default:"${default_group}" placeholder:"NAME"`
	Count       int           `short:"n" help:"Stop after this many deliveries, printed or withheld (not opened: reported, exit status 1); 0 = no limit. Without --timeout it waits for them however long that takes." placeholder:"N"`
	Follow      bool          `short:"f" help:"Keep waiting for new messages until interrupted (SIGINT or SIGTERM)."`
	Timeout     time.Duration `help:"Stop when nothing arrives for this long (default: 2s when neither --follow nor --count is given; 0 = never)." placeholder:"DURATION"`
	Batch       int           `help:"Most messages per fetch (default: ${default})." default:"${default_fetch}" placeholder:"N"`
	From        string        `help:"Where the group starts if this consumer creates it (its first fetch): earliest, latest, seq:N or time:RFC3339 (default: the oldest retained message). An existing group is not moved: swarmctl group reset does that." placeholder:"POSITION"`
	JSON        bool          `name:"json" help:"Print one JSON object per message (destination, group, seq, attempt, id, timestamp, producer, key_id, headers if any, payload) instead of the bare payload."`
	ClientID    string        `name:"client-id" help:"Client id sent in HELLO (default <hostname>-<pid>)." placeholder:"ID"`
	KeyFile     string        `name:"key-file" help:"Keyring file (YAML, docs/sealing.md): authenticate and decrypt every payload; one that fails is reported on stderr and not acknowledged. Without it only unsealed payloads are printed." placeholder:"FILE"`
	TLS         TLSFlags      `embed:""`
	Progress    bool          `help:"Show the progress line on stderr even when it is not a terminal."`
	Verbose     bool          `short:"v" help:"Log connection events (reconnects) on stderr."`
}

// Validate reports every problem of the flags at once.
func (f ConsumerFlags) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if f.Count < 0 {
		bad("--count %d must not be negative", f.Count)
	}
	if f.Timeout < 0 {
		bad("--timeout %v must not be negative", f.Timeout)
	}
	if f.Follow && f.Timeout > 0 {
		bad("--follow and --timeout exclude each other")
	}
	if f.Batch < 1 {
		bad("--batch %d must be at least 1", f.Batch)
	}
	if f.From != "" {
		if _, err := client.ParseStart(f.From); err != nil {
			bad("--from: %v", err)
		}
	}
	return errors.Join(errs...)
}

// IdleTimeout returns when consumer-client stops for lack of messages: the
// --timeout given, else DefaultIdleTimeout unless --follow or --count is
// given, else 0 (never).
func (f ConsumerFlags) IdleTimeout() time.Duration {
	if f.Timeout > 0 || f.Follow || f.Count > 0 {
		return f.Timeout
	}
	return DefaultIdleTimeout
}

// ClientOptions returns the client options the flags ask for, without
// the keyring (see LoadKeyring).
func (f ConsumerFlags) ClientOptions(log *slog.Logger) client.Options {
	return client.Options{Addr: f.Node, ClientID: f.ClientID, Logger: log}
}

// LoadKeyring reads the keyring of --key-file: nil (unsealed) when path
// is empty. warnings (a file mode wider than 0600) are for stderr; they
// come with a keyring, not instead of one.
func LoadKeyring(path string) (kr *seal.Keyring, warnings []string, err error) {
	if path == "" {
		return nil, nil, nil
	}
	return keyfile.Read(path)
}

// TLSFlags are the TLS flags of the client commands. Any of them turns
// TLS 1.3 on.
type TLSFlags struct {
	On         bool   `name:"tls" help:"Connect over TLS 1.3, checking the node's certificate against the system roots (or --tls-ca)."`
	CA         string `name:"tls-ca" help:"PEM CA bundle to check the node's certificate against (turns TLS on)." placeholder:"FILE"`
	Cert       string `name:"tls-cert" help:"PEM client certificate, for nodes that require one (mutual TLS; turns TLS on)." placeholder:"FILE"`
	Key        string `name:"tls-key" help:"PEM private key of --tls-cert." placeholder:"FILE"`
	ServerName string `name:"tls-server-name" help:"Name expected in the node's certificate (default: the host of --node)." placeholder:"NAME"`
}

// Config returns the TLS config the flags ask for, or nil for plaintext.
func (t TLSFlags) Config() (*tls.Config, error) {
	if !t.On && t.CA == "" && t.Cert == "" && t.Key == "" && t.ServerName == "" {
		return nil, nil
	}
	return tlsconf.Client(t.CA, t.Cert, t.Key, t.ServerName)
}
