package conf

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/seal/keyfile"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/stages/fanout"
	"github.com/swarmmq/swarmmq/wal"
)

// NodeOptions turns a validated config into the node's options, reading
// the keyring file if one is configured (its warnings, such as loose file
// permissions, go to logger). Logger and metrics are the caller's.
func (c *Config) NodeOptions(logger *slog.Logger) (stages.Options, error) {
	sync, _ := wal.ParseSyncPolicy(c.Performance.Fsync)
	p := c.Performance
	var kr *seal.Keyring
	if c.Security.Keyring != "" {
		var warnings []string
		var err error
		if kr, warnings, err = keyfile.Read(c.Security.Keyring); err != nil {
			return stages.Options{}, fmt.Errorf("security.keyring: %w", err)
		}
		for _, w := range warnings {
			logger.Warn("keyring", "file", c.Security.Keyring, "warning", w)
		}
	}
	var producerKey []byte
	if c.Security.ProducerKeyFile != "" {
		var err error
		if producerKey, err = ReadProducerKey(c.Security.ProducerKeyFile); err != nil {
			return stages.Options{}, fmt.Errorf("security.producer_key_file: %w (node --gen-producer-key FILE writes one; "+
				"every node of a cluster needs the same)", err)
		}
	}
	var tlsConfig *tls.Config
	plainAddr := ""
	if c.Security.TLSCert != "" {
		var err error
		tlsConfig, err = netio.ServerTLSConfig(c.Security.TLSCert, c.Security.TLSKey, c.Security.TLSCA, c.Security.ClientAuth)
		if err != nil {
			return stages.Options{}, fmt.Errorf("security: %w", err)
		}
		if c.Node.PlainPort != 0 {
			plainAddr = net.JoinHostPort(c.Node.Bind, strconv.Itoa(c.Node.PlainPort))
		}
	}
	o := stages.Options{
		TLS:          tlsConfig,
		PlainAddr:    plainAddr,
		Keyring:      kr,
		ProducerKey:  producerKey,
		NodeID:       c.Node.ID,
		ClusterName:  c.Cluster.Name,
		Partitions:   uint32(c.Cluster.Partitions),
		ClientAddr:   c.ClientAddr(),
		HTTPAddr:     c.Node.HTTPAddr,
		DataDir:      c.Node.DataDir,
		Sync:         sync,
		SyncInterval: time.Duration(p.FsyncInterval),
		MinFree:      minFree(c.Storage.MinFree),
		MaxFrame:     int(p.MaxMessageSize),
		FetchBatch:   p.BatchSize,
		Queue: queue.Options{
			AckTimeout:   time.Duration(p.AckTimeout),
			MaxDeliver:   p.MaxDeliver,
			MaxProgress:  p.MaxProgress,
			DedupeWindow: time.Duration(p.DedupeWindow),
			DedupeMax:    p.DedupeMax,
			MaxMsgs:      c.Limits.MaxMsgs,

			ProducerWindow:  p.ProducerWindow,
			ProducerIdle:    time.Duration(p.ProducerIdle),
			MaxProducers:    p.MaxProducers,
			MaxProducerKeys: p.MaxProducerKeys,
			MaxBytes:        int64(c.Limits.MaxBytes),
			MaxAge:          time.Duration(c.Limits.MaxAge),
			Retention:       retention(c.Limits.Retention),
		},
		MessageCache:       messageCache(p.MessageCache),
		MaxConns:           p.MaxConnections,
		Credits:            uint32(p.Credits),
		HandshakeTimeout:   time.Duration(p.HandshakeTimeout),
		IdleTimeout:        idleTimeout(p.IdleTimeout),
		MaxConnsPerIP:      p.MaxConnectionsPerIP,
		FlowControlPenalty: offIfZero(p.FlowControlPenalty),
		MaxOutbound:        int(p.MaxOutbound),
		MaxBuffered:        int64(p.MaxBuffered),
		MaxPipeline:        int(p.MaxPipeline),
		WriteStallTimeout:  time.Duration(p.WriteStallTimeout),
		Logger:             logger,
	}
	if c.Cluster.Partitions < fanout.DefaultWorkers {
		// Fewer partitions than the default fanout workers: one worker
		// per partition (a worker owns whole partitions).
		o.Workers = c.Cluster.Partitions
	}
	return o, nil
}

// idleTimeout maps the config's idle_timeout (0 = never) to netio's
// (0 = the default, negative = never).
func idleTimeout(d Duration) time.Duration {
	return offIfZero(d)
}

// offIfZero maps a config duration where 0 turns a feature off to netio's
// convention (0 = the default, negative = off).
func offIfZero(d Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return time.Duration(d)
}

// Logger builds the slog logger the config asks for, writing to w.
func (c *Config) Logger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Log.Level))
	ho := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// messageCache maps the config's message_cache (0 = keep nothing in memory)
// to stages.Options.MessageCache (0 = the default, negative = nothing).
// minFree maps storage.min_free to wal.Options.MinFree, where 0 means the
// default and a negative value no reserve.
func minFree(s Size) int64 {
	if s == 0 {
		return -1
	}
	return int64(s)
}

func messageCache(s Size) int64 {
	if s == 0 {
		return -1
	}
	return int64(s)
}

// retention is the mode Validate accepted (RetentionDefault otherwise).
func retention(s string) queue.Retention {
	r, _ := queue.ParseRetention(s)
	return r
}
