// Command swarm-certs writes a development certificate authority and the
// certificates signed by it, for trying SwarmMQ's TLS 1.3 and mutual TLS
// locally (see docs/tls.md):
//
//	swarm-certs certs                                  # into ./certs
//	swarm-certs --host node-1.lan --host 10.0.0.5 certs  # extra names for the node
//
// It writes, in DIR (created if missing):
//
//	ca.pem      ca-key.pem       the CA: trust it on both sides (tls_ca, --tls-ca)
//	node.pem    node-key.pem     the node's certificate, for localhost, 127.0.0.1, ::1 and each --host
//	client.pem  client-key.pem   a client certificate, for mutual TLS (--tls-cert/--tls-key)
//
// Keys are written with mode 0600. Existing files are left alone unless
// --force is given. These are not production certificates: the CA key
// sits next to them in a plain file.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/cmd/internal/version"
	"github.com/swarmmq/swarmmq/netio/tlsconf/certgen"
)

// flags is the command line.
type flags struct {
	Dir    string        `arg:"" optional:"" default:"certs" help:"Directory to write the PEM files into (created if missing)."`
	Host   []string      `help:"A DNS name or IP address the node certificate is also valid for (repeatable); localhost, 127.0.0.1 and ::1 are always included."`
	Valid  time.Duration `default:"8760h" help:"How long the certificates are valid."`
	Client string        `default:"swarmmq-client" help:"Common name of the client certificate."`
	Force  bool          `help:"Overwrite existing files."`
}

func main() {
	var f flags
	kong.Parse(&f,
		kong.Name("swarm-certs"),
		kong.Description("Write a development CA, a node certificate and a client certificate for SwarmMQ's TLS."),
		kong.UsageOnError(),
		kong.Embed(&version.Flag{}), version.Vars("swarm-certs"))
	if err := run(f, time.Now(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "swarm-certs:", err)
		os.Exit(1)
	}
}

// files are the names written, in order.
var files = []string{"ca.pem", "ca-key.pem", "node.pem", "node-key.pem", "client.pem", "client-key.pem"}

// run writes the certificates into f.Dir and lists them on out.
func run(f flags, now time.Time, out io.Writer) error {
	if f.Valid <= 0 {
		return fmt.Errorf("--valid %v must be positive", f.Valid)
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return err
	}
	if !f.Force {
		for _, name := range files {
			_, err := os.Stat(filepath.Join(f.Dir, name))
			if err == nil {
				return fmt.Errorf("%s already exists: nothing written (--force, or make certs FORCE=1, overwrites)", filepath.Join(f.Dir, name))
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	v := certgen.ValidFor(now, f.Valid)
	ca, err := certgen.NewCA("SwarmMQ development CA", v)
	if err != nil {
		return err
	}
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, f.Host...)
	node, err := ca.IssueServer("swarmmq-node", hosts, v)
	if err != nil {
		return err
	}
	client, err := ca.IssueClient(f.Client, v)
	if err != nil {
		return err
	}
	for i, p := range []*certgen.Pair{ca, node, client} {
		cert, key := filepath.Join(f.Dir, files[2*i]), filepath.Join(f.Dir, files[2*i+1])
		if err := p.WriteFiles(cert, key); err != nil {
			return err
		}
		fmt.Fprintf(out, "%-40s %-40s %s, valid until %s\n", cert, key, p.Cert.Subject.CommonName,
			p.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	fmt.Fprintf(out, "node certificate names: %v\n", hosts)
	return nil
}
