package conf

import (
	"log/slog"
	"time"

	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/wal"
)

// NodeOptions turns a validated config into the node's options. Logger and
// metrics are the caller's (cmd owns them).
func (c *Config) NodeOptions(logger *slog.Logger) stages.Options {
	sync, _ := wal.ParseSyncPolicy(c.Performance.Fsync)
	p := c.Performance
	return stages.Options{
		NodeID:       c.Node.ID,
		ClusterName:  c.Cluster.Name,
		Partitions:   uint32(c.Cluster.Partitions),
		ClientAddr:   c.ClientAddr(),
		HTTPAddr:     c.Node.HTTPAddr,
		DataDir:      c.Node.DataDir,
		Sync:         sync,
		SyncInterval: time.Duration(p.FsyncInterval),
		MaxFrame:     int(p.MaxMessageSize),
		FetchBatch:   p.BatchSize,
		Queue: queue.Options{
			AckTimeout:   time.Duration(p.AckTimeout),
			MaxDeliver:   p.MaxDeliver,
			DedupeWindow: time.Duration(p.DedupeWindow),
			DedupeMax:    p.DedupeMax,
			MaxMsgs:      c.Limits.MaxMsgs,
			MaxBytes:     int64(c.Limits.MaxBytes),
			MaxAge:       time.Duration(c.Limits.MaxAge),
		},
		MaxConns:         p.MaxConnections,
		Credits:          uint32(p.Credits),
		HandshakeTimeout: time.Duration(p.HandshakeTimeout),
		IdleTimeout:      time.Duration(p.IdleTimeout),
		Logger:           logger,
	}
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
