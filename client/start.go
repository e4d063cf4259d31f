package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Start is where a consumer group starts when a FETCH creates it (the
// START flag of FETCH, docs/protocol.md). The zero Start is the node's
// default, the oldest retained message. A plain value.
type Start struct {
	kind uint8
	at   uint64
}

// StartEarliest starts a new group at the oldest retained message.
func StartEarliest() Start { return Start{kind: frame.StartEarliest} }

// StartLatest starts a new group after the last message: it gets only
// messages stored later.
func StartLatest() Start { return Start{kind: frame.StartLatest} }

// StartAtSeq starts a new group at seq (the oldest retained message if seq
// is gone, the next one stored if it is beyond the last).
func StartAtSeq(seq uint64) Start { return Start{kind: frame.StartSeq, at: seq} }

// StartAtTime starts a new group at the first message stored at or after
// t (by the node's clock).
func StartAtTime(t time.Time) Start {
	return Start{kind: frame.StartTime, at: uint64(max(t.UnixNano(), 0))}
}

// ParseStart parses earliest, latest, seq:N or time:T (T in RFC 3339).
func ParseStart(s string) (Start, error) {
	kind, v, _ := strings.Cut(s, ":")
	switch kind {
	case "earliest", "latest":
		if v != "" {
			break
		}
		if kind == "earliest" {
			return StartEarliest(), nil
		}
		return StartLatest(), nil
	case "seq":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return Start{}, fmt.Errorf("start %q: want seq:N with N from 1", s)
		}
		return StartAtSeq(n), nil
	case "time":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return Start{}, fmt.Errorf("start %q: want time:T with T in RFC 3339 (time:2026-12-05T17:00:00Z)", s)
		}
		return StartAtTime(t), nil
	}
	return Start{}, fmt.Errorf("start %q: want earliest, latest, seq:N or time:RFC3339", s)
}

// String returns what ParseStart reads ("" for the zero Start).
func (s Start) String() string {
	switch s.kind {
	case frame.StartEarliest:
		return "earliest"
	case frame.StartLatest:
		return "latest"
	case frame.StartSeq:
		return "seq:" + strconv.FormatUint(s.at, 10)
	case frame.StartTime:
		return "time:" + time.Unix(0, int64(s.at)).UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// FetchFrom is Fetch for a group that, if this FETCH creates it, starts
// at from instead of the oldest retained message. An existing group is
// not moved (swarmctl group reset moves it).
func (c *Client) FetchFrom(ctx context.Context, dest, group string, max int, wait time.Duration, from Start) ([]Delivery, error) {
	return c.fetch(ctx, dest, group, max, wait, from)
}
