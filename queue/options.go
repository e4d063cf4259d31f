package queue

import (
	"errors"
	"fmt"
	"time"
)

// Defaults used by Options.EnsureDefaults for fields left at zero.
const (
	// DefaultAckTimeout is how long a delivery waits for its ack before the
	// message is delivered again.
	DefaultAckTimeout = 5 * time.Second
	// DefaultMaxDeliver is how many times a message is delivered to a group
	// before it moves to the dead-letter destination.
	DefaultMaxDeliver = 5
	// DefaultMaxProgress is how many times one delivery's ack deadline
	// may be pushed out by Progress: with the default AckTimeout, a
	// consumer can hold a message for about 5 minutes past its first
	// deadline before it is delivered again.
	DefaultMaxProgress = 60
	// MaxMaxProgress bounds MaxProgress.
	MaxMaxProgress = 255
	// DefaultDedupeWindow is how long a message id is remembered for
	// deduplication, measured in record time.
	DefaultDedupeWindow = 2 * time.Minute
	// DefaultDedupeMax is the most message ids a partition remembers.
	DefaultDedupeMax = 65536
	// MaxDedupeMax bounds DedupeMax.
	MaxDedupeMax = 1 << 30
	// DefaultMaxBytes is the payload bytes a destination may retain.
	DefaultMaxBytes = 1 << 30
	// DefaultProducerIdle is how long a producer session's dedupe state
	// outlives its last message to the partition, in record time.
	DefaultProducerIdle = 10 * time.Minute
	// DefaultProducerWindow is the fewest recent keys a producer session
	// remembers per partition: the most messages a client may have in
	// flight in one session.
	DefaultProducerWindow = 8192
	// DefaultMaxProducers is the most producer sessions a partition
	// remembers.
	DefaultMaxProducers = 1024
	// DefaultMaxProducerKeys is the most keys a partition remembers over
	// all its producer sessions.
	DefaultMaxProducerKeys = 1 << 18
)

// Options configures a Partition. The zero value of a field means "use the
// default" unless the field says otherwise. Every partition of a node is
// given the same Options; the limits apply to each destination on its own.
// Options is a plain value; New copies it.
type Options struct {
	// AckTimeout is how long a delivery waits for its ack (or NACK) before
	// the message is delivered again. Default DefaultAckTimeout.
	AckTimeout time.Duration
	// MaxDeliver is the number of deliveries to a group after which an
	// unacknowledged message is dead-lettered. Default DefaultMaxDeliver;
	// negative means unlimited.
	MaxDeliver int
	// MaxProgress is how many times Progress may push out the ack
	// deadline of one delivery (each time to AckTimeout after the
	// PROGRESS); a redelivery starts the count again. Default
	// DefaultMaxProgress; at most MaxMaxProgress.
	MaxProgress int
	// DedupeWindow is how long a message id stays in the dedupe window,
	// relative to the newest applied record time. Default
	// DefaultDedupeWindow.
	DedupeWindow time.Duration
	// DedupeMax bounds the dedupe window of the partition's application
	// ids (messages published outside a producer session): beyond it the
	// oldest ids are forgotten first. Default DefaultDedupeMax.
	DedupeMax int
	// ProducerIdle is how long, in record time, a producer session's
	// dedupe state stays after its last message to the partition.
	// Default DefaultProducerIdle.
	ProducerIdle time.Duration
	// ProducerWindow is the fewest recent keys each producer session
	// remembers in the partition (it remembers up to twice as many).
	// Default DefaultProducerWindow.
	ProducerWindow int
	// MaxProducers bounds the producer sessions a partition remembers;
	// beyond it the least recently used is forgotten first. Default
	// DefaultMaxProducers.
	MaxProducers int
	// MaxProducerKeys bounds the keys of all the producer sessions of the
	// partition together; beyond it the least recently used sessions are
	// forgotten first. At least 2*ProducerWindow. Default
	// DefaultMaxProducerKeys.
	MaxProducerKeys int
	// MaxMsgs is the most messages a destination retains; a publish beyond
	// it is answered with CodeDestinationFull. 0 means unlimited.
	MaxMsgs int64
	// MaxBytes is the most payload bytes (message headers not counted) a
	// destination retains; a publish beyond it is answered with
	// CodeDestinationFull. Default DefaultMaxBytes.
	MaxBytes int64
	// MaxAge drops messages stored longer ago than this: Apply frees them
	// by record time, Deliver and ExpireAge stop delivering them by `now`
	// (see doc.go). 0 means unlimited.
	MaxAge time.Duration
	// Retention is the retention mode of destinations that do not set
	// their own (RecordDestConfig): RetentionInterest (the default) or
	// RetentionLimits.
	Retention Retention
	// Memory bounds the bytes of messages kept in memory; the others are
	// retained by location and read back from the log when delivered
	// (Delivery.Loc). nil keeps every message in memory. One Budget may be
	// shared by all the partitions of a node. It never changes the
	// durable state (see Budget).
	Memory *Budget
}

// EnsureDefaults replaces every zero field that has a default by that
// default.
func (o *Options) EnsureDefaults() {
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.MaxDeliver == 0 {
		o.MaxDeliver = DefaultMaxDeliver
	}
	if o.MaxProgress == 0 {
		o.MaxProgress = DefaultMaxProgress
	}
	if o.DedupeWindow == 0 {
		o.DedupeWindow = DefaultDedupeWindow
	}
	if o.DedupeMax == 0 {
		o.DedupeMax = DefaultDedupeMax
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.ProducerIdle == 0 {
		o.ProducerIdle = DefaultProducerIdle
	}
	if o.ProducerWindow == 0 {
		o.ProducerWindow = DefaultProducerWindow
	}
	if o.MaxProducers == 0 {
		o.MaxProducers = DefaultMaxProducers
	}
	if o.MaxProducerKeys == 0 {
		o.MaxProducerKeys = max(DefaultMaxProducerKeys, 2*o.ProducerWindow)
	}
}

// Validate reports every invalid field at once (errors.Join). It expects
// EnsureDefaults to have run.
func (o *Options) Validate() error {
	var errs []error
	bad := func(name string, v any, want string) {
		errs = append(errs, fmt.Errorf("swarmmq/queue: %s is %v, want %s", name, v, want))
	}
	if o.AckTimeout <= 0 {
		bad("AckTimeout", o.AckTimeout, "> 0")
	}
	if o.MaxProgress < 0 || o.MaxProgress > MaxMaxProgress {
		bad("MaxProgress", o.MaxProgress, fmt.Sprintf("in 1..%d", MaxMaxProgress))
	}
	if o.DedupeWindow <= 0 {
		bad("DedupeWindow", o.DedupeWindow, "> 0")
	}
	if o.DedupeMax <= 0 || o.DedupeMax > MaxDedupeMax {
		bad("DedupeMax", o.DedupeMax, fmt.Sprintf("in 1..%d", MaxDedupeMax))
	}
	if o.MaxMsgs < 0 {
		bad("MaxMsgs", o.MaxMsgs, ">= 0 (0 = unlimited)")
	}
	if o.MaxBytes <= 0 {
		bad("MaxBytes", o.MaxBytes, "> 0")
	}
	if o.Retention > RetentionLimits {
		bad("Retention", o.Retention, "interest or limits")
	}
	if o.MaxAge < 0 {
		bad("MaxAge", o.MaxAge, ">= 0 (0 = unlimited)")
	}
	if o.ProducerIdle <= 0 {
		bad("ProducerIdle", o.ProducerIdle, "> 0")
	}
	if o.ProducerWindow <= 0 || o.ProducerWindow > MaxDedupeMax {
		bad("ProducerWindow", o.ProducerWindow, fmt.Sprintf("in 1..%d", MaxDedupeMax))
	}
	if o.MaxProducers <= 0 {
		bad("MaxProducers", o.MaxProducers, "> 0")
	}
	if o.MaxProducerKeys < 2*o.ProducerWindow || o.MaxProducerKeys > MaxDedupeMax {
		bad("MaxProducerKeys", o.MaxProducerKeys, fmt.Sprintf("in 2*ProducerWindow (%d)..%d", 2*o.ProducerWindow, MaxDedupeMax))
	}
	return errors.Join(errs...)
}
