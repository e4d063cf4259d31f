package conformance

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
)

// RunClient runs s's client operations through the Go client against the
// node at addr and returns the first failure. A scenario without client
// operations passes at once.
func RunClient(ctx context.Context, s *Scenario, addr string) error {
	if len(s.Client) == 0 {
		return nil
	}
	c, err := client.Dial(ctx, client.Options{Addr: addr, ClientID: "conformance-" + s.Name})
	if err != nil {
		return err
	}
	defer c.Close()
	for i, op := range s.Client {
		start := time.Now()
		got, err := clientOp(ctx, c, op)
		if err != nil {
			return fmt.Errorf("client op %d (%s): %w", i, op.Op, err)
		}
		if took := time.Since(start); took < time.Duration(op.NotBeforeMS)*time.Millisecond {
			return fmt.Errorf("client op %d (%s): returned after %v, want not before %dms", i, op.Op, took.Round(time.Millisecond), op.NotBeforeMS)
		}
		want := op.Expect
		if want == nil {
			want = map[string]any{}
		}
		if err := match(op.Op, normalize(want), got); err != nil {
			return fmt.Errorf("client op %d (%s): %w\n got %s", i, op.Op, err, show(got))
		}
	}
	return nil
}

// clientOp makes one call and returns what it returned in the form of
// ClientOp.Expect; err is only for a scenario the runner cannot run.
func clientOp(ctx context.Context, c *client.Client, op ClientOp) (map[string]any, error) {
	var err error
	out := map[string]any{}
	switch op.Op {
	case "limits":
		return limitsMap(c.Limits()), nil
	case "ping":
		err = c.Ping(ctx)
	case "publish":
		id, herr := hex.DecodeString(op.ID)
		if herr != nil || len(id) != 16 {
			return nil, fmt.Errorf("id %q is not 32 hex digits", op.ID)
		}
		var h client.Headers
		for _, f := range op.Headers {
			if h == nil {
				h = client.Headers{}
			}
			h.Add(f.Key, f.Value)
		}
		var r client.PublishResult
		r, err = c.PublishMsgWithID(ctx, op.Destination, [16]byte(id), client.Message{Payload: []byte(op.Payload), Headers: h})
		if err == nil {
			err = r.Err
		}
		if err == nil {
			out["seq"], out["duplicate"] = num(r.Seq), r.Duplicate
		}
	case "fetch":
		var ds []client.Delivery
		ds, err = c.Fetch(ctx, op.Destination, op.Group, op.Max, time.Duration(op.WaitMS)*time.Millisecond)
		list := []any{}
		for _, d := range ds {
			m := map[string]any{"seq": num(d.Seq), "attempt": num(uint64(d.Attempt)), "payload": string(d.Payload)}
			if len(d.Headers) > 0 {
				m["headers"] = headerList(d.Headers)
			}
			list = append(list, m)
		}
		if err == nil {
			out["deliveries"] = list
		}
	case "ack":
		err = c.Ack(ctx, op.Destination, op.Group, op.Seqs...)
	case "nack":
		err = c.Nack(ctx, op.Destination, op.Group, time.Duration(op.DelayMS)*time.Millisecond, op.Seqs...)
	case "release":
		err = c.Release(ctx, op.Destination, op.Group, time.Duration(op.DelayMS)*time.Millisecond, op.Seqs...)
	case "term":
		err = c.Term(ctx, op.Destination, op.Group, op.Reason, op.Seqs...)
	case "progress":
		var n int
		n, err = c.InProgress(ctx, op.Destination, op.Group, op.Seqs...)
		if err == nil {
			out["count"] = num(uint64(n))
		}
	}
	if err != nil {
		var fe *frame.Error
		if !errors.As(err, &fe) {
			return map[string]any{"error": err.Error()}, nil
		}
		return map[string]any{"error": fe.Code.String()}, nil
	}
	return out, nil
}

// headerList returns h as a list of {key, value}: keys sorted, each key's
// values in order (the order the Go client sends them in).
func headerList(h client.Headers) []any {
	keys := slices.Sorted(maps.Keys(h))
	list := []any{}
	for _, k := range keys {
		for _, v := range h[k] {
			list = append(list, map[string]any{"key": k, "value": v})
		}
	}
	return list
}

// limitsMap is client.Limits under the names of HELLO_OK's limits.
func limitsMap(l client.Limits) map[string]any {
	ms := func(d time.Duration) any { return num(uint64(d / time.Millisecond)) }
	n := func(v int) any { return num(uint64(v)) }
	m := map[string]any{
		"node_id": l.NodeID, "max_frame": n(l.MaxFrame), "credits": n(l.Credits), "partitions": n(l.Partitions),
		"listed": l.Listed,
	}
	if l.Listed {
		for k, v := range map[string]any{
			"idle_timeout_ms": ms(l.IdleTimeout), "handshake_timeout_ms": ms(l.HandshakeTimeout),
			"max_wait_ms": ms(l.MaxWait), "fetch_default": n(l.FetchDefault), "fetch_max": n(l.FetchMax),
			"max_batch": n(l.MaxBatch), "max_message": n(l.MaxMessage), "ack_timeout_ms": ms(l.AckTimeout),
			"max_deliver": n(l.MaxDeliver), "dedupe_window_ms": ms(l.DedupeWindow), "dedupe_max": n(l.DedupeMax),
			"producer_idle_ms": ms(l.ProducerIdle), "write_stall_timeout_ms": ms(l.WriteStallTimeout),
			"max_outbound": n(l.MaxOutbound), "max_header_bytes": n(l.MaxHeaderBytes),
			"max_header_count": n(l.MaxHeaderCount),
		} {
			m[k] = v
		}
	}
	return m
}
