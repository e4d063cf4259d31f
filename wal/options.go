package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults used by Options.EnsureDefaults for fields left at their zero value.
const (
	// DefaultPartitions is the partition count of a new log.
	DefaultPartitions = 16
	// DefaultSyncInterval is the period of the interval syncer, that is the
	// window of acknowledged appends a power failure can lose under
	// SyncInterval.
	DefaultSyncInterval = 50 * time.Millisecond
	// DefaultMemTableSize is the size of Pebble's memtable. Up to
	// memTableStopWrites of them are in memory at once, outside the Go heap:
	// at 64 MiB they made up half of a node's 345 MB RSS under a long
	// publish run; at 16 MiB a flush still writes a sizeable L0 table.
	DefaultMemTableSize = 16 << 20
	// DefaultMinFree is the free-space reserve of the data directory's file
	// system: below it the Log reports DiskFull and the node refuses new
	// messages. It leaves room for what a full memtable queue needs to be
	// flushed (memTableStopWrites × DefaultMemTableSize = 64 MiB) several
	// times over, for compactions, and for the acks that free space.
	DefaultMinFree = 256 << 20
)

// Limits checked by Options.Validate.
const (
	// MaxPartitions bounds Partitions: Open seeks once per partition and keeps
	// a small table per partition in memory.
	MaxPartitions = 1 << 16
	// MinSyncInterval is the shortest SyncInterval accepted.
	MinSyncInterval = time.Millisecond
	// MinMemTableSize is the smallest MemTableSize accepted.
	MinMemTableSize = 64 << 10
	// MaxMemTableSize is Pebble's limit on the memtable size (exclusive).
	MaxMemTableSize = 4 << 30
)

// SyncPolicy says when an append is acknowledged relative to the fsync of the
// Pebble WAL that holds it. It is a plain value.
type SyncPolicy uint8

const (
	// SyncAlways acknowledges an append (Pending.Wait returns) only after the
	// fsync that covers it. Concurrent and pipelined appends share fsyncs
	// (group commit). It is the default.
	SyncAlways SyncPolicy = iota
	// SyncInterval acknowledges an append once it is applied; a goroutine
	// fsyncs the WAL every Options.SyncInterval. A power failure can lose the
	// appends of the last interval; a process crash can lose the last few
	// batches, which Pebble's WAL writer may not have handed to the kernel.
	SyncInterval
)

// ParseSyncPolicy parses "always" or "interval", the values String returns.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "interval":
		return SyncInterval, nil
	}
	return 0, fmt.Errorf("swarmmq/wal: unknown sync policy %q (want \"always\" or \"interval\")", s)
}

// String returns "always", "interval", or a placeholder for invalid values.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	}
	return fmt.Sprintf("SyncPolicy(%d)", uint8(p))
}

// MarshalText implements encoding.TextMarshaler, so the policy reads and
// writes as its name in configuration files.
func (p SyncPolicy) MarshalText() ([]byte, error) {
	if p > SyncInterval {
		return nil, fmt.Errorf("swarmmq/wal: invalid sync policy %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseSyncPolicy.
func (p *SyncPolicy) UnmarshalText(b []byte) error {
	v, err := ParseSyncPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Options configures Open. A zero field means "use the default"; Open calls
// EnsureDefaults and then Validate. Options is a plain value: copy it freely.
type Options struct {
	// Dir is the directory holding the Pebble database. Required.
	Dir string
	// FS is the file system; nil means vfs.Default (the OS). Tests pass
	// vfs.NewMem, vfs.NewCrashableMem or an errorfs wrapper.
	FS vfs.FS
	// Partitions is the number of partitions, fixed when the log is created
	// (DefaultPartitions). Opening a log with another count fails.
	Partitions uint32
	// Sync is the durability policy (SyncAlways by default).
	Sync SyncPolicy
	// SyncInterval is the period of the WAL fsync under SyncInterval, and so
	// the data-loss window on power failure (DefaultSyncInterval). Ignored
	// under SyncAlways.
	SyncInterval time.Duration
	// MemTableSize is the size of Pebble's memtable in bytes
	// (DefaultMemTableSize).
	MemTableSize uint64
	// Metrics receives the package's metrics; nil keeps them in a private set.
	Metrics *metrics.Set
	// Logger receives Pebble's own log lines and the Log's health
	// transitions; nil discards them.
	Logger *slog.Logger
	// MinFree is the free-space reserve, in bytes, of the file system of
	// Dir (DefaultMinFree), at least twice MemTableSize (what a flush and a
	// new preallocated WAL file write at once; more is safer: a burst of
	// appends between two checks, 250 ms, must fit too). Below it DiskFull
	// reports the disk full, until
	// the free space is back above MinFree × 1.25 plus the ballast. The Log
	// also keeps a ballast file of MinFree/4 (at most 64 MiB) in Dir,
	// released on ENOSPC. Negative: no reserve, no ballast.
	MinFree int64
	// DiskUsage returns the usage of the file system of Dir; nil means
	// FS.GetDiskUsage(Dir). Tests inject figures with it.
	DiskUsage func() (vfs.DiskUsage, error)
}

// EnsureDefaults replaces zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.MinFree == 0 {
		o.MinFree = DefaultMinFree
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every invalid field at once, joined with errors.Join. Zero
// values are accepted where EnsureDefaults would replace them.
func (o Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("swarmmq/wal: "+format, args...))
	}
	if o.Dir == "" {
		add("Dir is required")
	}
	if o.Partitions > MaxPartitions {
		add("Partitions is %d, want at most %d", o.Partitions, MaxPartitions)
	}
	if o.Sync > SyncInterval {
		add("Sync is %s, want %s or %s", o.Sync, SyncAlways, SyncInterval)
	}
	if o.SyncInterval < 0 || (o.SyncInterval > 0 && o.SyncInterval < MinSyncInterval) {
		add("SyncInterval is %s, want at least %s", o.SyncInterval, MinSyncInterval)
	}
	if o.MemTableSize != 0 && (o.MemTableSize < MinMemTableSize || o.MemTableSize >= MaxMemTableSize) {
		add("MemTableSize is %d, want at least %d and below %d", o.MemTableSize, MinMemTableSize, uint64(MaxMemTableSize))
	}
	mem := o.MemTableSize
	if mem == 0 {
		mem = DefaultMemTableSize
	}
	if o.MinFree > 0 && uint64(o.MinFree) < 2*mem {
		add("MinFree is %d, want at least twice MemTableSize (%d): a flush and a new WAL file (Pebble preallocates "+
			"1.1 × MemTableSize) must fit in the reserve", o.MinFree, 2*mem)
	}
	return errors.Join(errs...)
}
