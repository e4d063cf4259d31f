package queue

import (
	"fmt"
	"math"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Retention says when a destination drops a message.
type Retention uint8

// Retention modes. Values are stored in records and snapshots: only ever
// add new ones.
const (
	// RetentionDefault takes the node's mode (Options.Retention).
	RetentionDefault Retention = 0
	// RetentionInterest drops a message once every group of its
	// destination is done with it (and by the limits); a destination over
	// MaxMsgs or MaxBytes refuses new messages (CodeDestinationFull).
	RetentionInterest Retention = 1
	// RetentionLimits keeps a message until MaxAge, MaxMsgs or MaxBytes
	// drop it, whatever the groups did: a new group, or a group reset, can
	// read it again. A message that would take the destination over
	// MaxMsgs or MaxBytes drops the oldest ones to make room.
	RetentionLimits Retention = 2
)

// String returns "interest", "limits" or "default".
func (r Retention) String() string {
	switch r {
	case RetentionDefault:
		return "default"
	case RetentionInterest:
		return "interest"
	case RetentionLimits:
		return "limits"
	}
	return fmt.Sprintf("Retention(%d)", uint8(r))
}

// ParseRetention parses "interest" or "limits" ("" is RetentionDefault).
func ParseRetention(s string) (Retention, error) {
	switch s {
	case "":
		return RetentionDefault, nil
	case "interest":
		return RetentionInterest, nil
	case "limits":
		return RetentionLimits, nil
	}
	return 0, fmt.Errorf("swarmmq/queue: retention %q, want interest or limits", s)
}

// DestConfig is the configuration of one destination, logged by a
// RecordDestConfig record. A zero field takes the node's value
// (Options); a negative MaxMsgs, MaxBytes or MaxAge means unlimited.
// A plain value.
type DestConfig struct {
	Retention Retention
	MaxMsgs   int64
	MaxBytes  int64 // payload bytes
	MaxAge    time.Duration
}

// IsZero reports whether c changes nothing from the node's settings.
func (c DestConfig) IsZero() bool { return c == DestConfig{} }

// check reports a value a record must not carry.
func (c DestConfig) check() error {
	if c.Retention > RetentionLimits {
		return corruptf("destination config: retention %d", uint8(c.Retention))
	}
	return nil
}

// limits are a destination's effective settings: its config over the
// node's Options. 0 means unlimited for maxMsgs and maxAge; maxBytes is
// math.MaxInt64 when unlimited.
type limits struct {
	retention Retention
	maxMsgs   int64
	maxBytes  int64
	maxAge    int64 // ns
}

// limitsOf merges c over o.
func limitsOf(c DestConfig, o *Options) limits {
	l := limits{retention: o.Retention, maxMsgs: o.MaxMsgs, maxBytes: o.MaxBytes, maxAge: int64(o.MaxAge)}
	if l.retention == RetentionDefault {
		l.retention = RetentionInterest
	}
	if c.Retention != RetentionDefault {
		l.retention = c.Retention
	}
	switch {
	case c.MaxMsgs > 0:
		l.maxMsgs = c.MaxMsgs
	case c.MaxMsgs < 0:
		l.maxMsgs = 0
	}
	switch {
	case c.MaxBytes > 0:
		l.maxBytes = c.MaxBytes
	case c.MaxBytes < 0:
		l.maxBytes = math.MaxInt64
	}
	switch {
	case c.MaxAge > 0:
		l.maxAge = int64(c.MaxAge)
	case c.MaxAge < 0:
		l.maxAge = 0
	}
	return l
}

// StartKind says where a group starts (or is moved to by a reset).
type StartKind uint8

// Start kinds. Values are stored in records: only ever add new ones. They
// are the values of FETCH's start field (package frame).
const (
	// StartEarliest is the oldest retained message.
	StartEarliest = StartKind(frame.StartEarliest)
	// StartLatest is after the last message: only messages stored later.
	StartLatest = StartKind(frame.StartLatest)
	// StartSeq is Start.At, a seq (the oldest retained one if that is
	// gone, the next one to be stored if it is beyond the last).
	StartSeq = StartKind(frame.StartSeq)
	// StartTime is the first retained message stored at or after
	// Start.At, in unix ns (the next one to be stored if none is).
	StartTime = StartKind(frame.StartTime)
)

// Start is a position in a destination. A plain value.
type Start struct {
	Kind StartKind
	At   uint64 // the seq (StartSeq) or the time in unix ns (StartTime)
}

// String returns earliest, latest, seq:N or time:NS.
func (s Start) String() string {
	switch s.Kind {
	case StartEarliest:
		return "earliest"
	case StartLatest:
		return "latest"
	case StartSeq:
		return fmt.Sprintf("seq:%d", s.At)
	case StartTime:
		return fmt.Sprintf("time:%d", int64(s.At))
	}
	return fmt.Sprintf("StartKind(%d)", uint8(s.Kind))
}

// seqOf returns the first seq a group starting at s reads in d.
func (s Start) seqOf(d *dest) uint64 {
	first, next := d.firstSeq(), d.lastSeq+1
	switch s.Kind {
	case StartLatest:
		return next
	case StartSeq:
		return min(max(s.At, first), next)
	case StartTime:
		for i := 0; i < d.slots.len(); i++ {
			if sl := d.slots.at(i); sl.live() && sl.time >= int64(s.At) {
				return sl.seq
			}
		}
		return next
	}
	return first
}
