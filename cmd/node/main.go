// Command node runs one SwarmMQ node.
//
//	node                                   # embedded defaults: port 9001, HTTP 127.0.0.1:8080, data in ./data
//	node --config configs/mvp-cluster.yaml --node-id node-1 --port 9001
//	node --config configs/cluster-5.yaml --node-id node-2 --check-config   # validate, print node-2's view
//
// It stops cleanly on SIGINT or SIGTERM: the client port stops reading, every
// request already accepted is answered, the log is closed. A start that
// fails names the setting to change when it can (a port taken, a data
// directory another node holds) and removes the data directory if it
// created it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/cmd/internal/version"
	"github.com/swarmmq/swarmmq/conf"
	"github.com/swarmmq/swarmmq/seal/keyfile"
	"github.com/swarmmq/swarmmq/stages"
)

// stopTimeout bounds a graceful stop.
const stopTimeout = 30 * time.Second

func main() {
	var flags conf.NodeFlags
	kong.Parse(&flags, append(parserOptions(), kong.UsageOnError())...)
	if err := run(flags); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(1)
	}
}

// parserOptions are the kong options of the command line.
func parserOptions() []kong.Option {
	return []kong.Option{
		kong.Name("node"),
		kong.Description("Run a SwarmMQ node. Without --config it starts on embedded defaults."),
		kong.Embed(&version.Flag{}), version.Vars("node"),
	}
}

// applyMemoryLimit sets the Go runtime's soft memory limit from
// performance.memory_limit (0 = none), so the heap is given back after a
// burst. A GOMEMLIMIT environment variable, which the runtime has already
// applied, wins.
func applyMemoryLimit(limit int64, logger *slog.Logger) {
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		logger.Info("memory limit from GOMEMLIMIT; performance.memory_limit ignored", "GOMEMLIMIT", env)
		return
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
		logger.Info("memory limit", "bytes", limit)
	}
}

// clusterOptions makes the node a cluster member when cluster.nodes lists
// more than one node: its membership, its replication factor, and mutual
// TLS on the peer links when the node has a certificate
// (security.tls_cert, tls_key; peers checked against security.peer_ca,
// else tls_ca). A single node gets nil and runs exactly as before.
func clusterOptions(cfg conf.Config) (*stages.Cluster, error) {
	m := cfg.Membership()
	if !m.Clustered() {
		return nil, nil
	}
	if cfg.Security.ProducerKeyFile == "" {
		return nil, errors.New("security.producer_key_file is required on a cluster: every node must key producer " +
			"sessions with the same secret, or a client's session is refused by a partition's next leader; write one " +
			"with node --gen-producer-key FILE and give every node the same file")
	}
	c := &stages.Cluster{ReplicationFactor: m.ReplicationFactor}
	for _, e := range append([]conf.Endpoint{m.Self}, m.Peers...) {
		c.Members = append(c.Members, stages.Member{ID: e.ID, Client: e.Client, Peer: e.Peer, HTTP: e.HTTP})
	}
	if sec := cfg.Security; sec.TLSCert != "" {
		ca := sec.PeerCA
		if ca == "" {
			ca = sec.TLSCA
		}
		t, err := peer.TLSConfig(sec.TLSCert, sec.TLSKey, ca)
		if err != nil {
			return nil, fmt.Errorf("peer links: %w", err)
		}
		c.PeerTLS = t
	}
	return c, nil
}

func run(flags conf.NodeFlags) error {
	if flags.GenKeyring != "" {
		if err := keyfile.Generate(flags.GenKeyring); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "node: wrote a new keyring to %s (mode 0600); point security.keyring and the clients' --key-file at it\n", flags.GenKeyring)
		return nil
	}
	if flags.GenProducerKey != "" {
		if err := conf.GenerateProducerKey(flags.GenProducerKey); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "node: wrote a new producer key to %s (mode 0600); point security.producer_key_file of every node at it\n", flags.GenProducerKey)
		return nil
	}
	cfg, err := conf.LoadNode(flags)
	if err != nil {
		return err
	}
	if flags.Check {
		_, err := fmt.Print(cfg.Summary())
		return err
	}
	if flags.Dump {
		b, err := cfg.YAML()
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(b)
		return err
	}
	logger := cfg.Logger(os.Stderr)
	applyMemoryLimit(int64(cfg.Performance.MemoryLimit), logger)
	opts, err := cfg.NodeOptions(logger)
	if err != nil {
		return err
	}
	if opts.Cluster, err = clusterOptions(cfg); err != nil {
		return err
	}
	opts.Version = version.Get().Version
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	return serve(ctx, opts, logger, nil)
}
