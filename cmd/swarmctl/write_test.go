package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// ctlIn runs swarmctl with stdin in.
func ctlIn(t *testing.T, in string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(in), &out, &errOut)
	return code, out.String(), errOut.String()
}

// dial connects a client to n.
func dial(t *testing.T, n *nodetest.Node) (*client.Client, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	t.Cleanup(cancel)
	c, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), ClientID: t.Name()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, ctx
}

// destInfo reads a destination's JSON through swarmctl.
func destInfo(t *testing.T, http, name string) adminapi.Destination {
	t.Helper()
	code, out, errOut := ctl(t, http, "--json", "dest", "info", name)
	require.Zero(t, code, errOut)
	var d adminapi.Destination
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	return d
}

func TestPurge(t *testing.T) {
	n := fixture(t)
	http := "--http=" + n.HTTPAddr().String()

	// No answer on stdin is a no; "n" is a no.
	code, out, errOut := ctlIn(t, "", http, "dest", "purge", "orders")
	require.Equal(t, 1, code)
	require.Contains(t, out, "Purge the 2 messages (5 bytes) of orders? [y/N]")
	require.Contains(t, errOut, "aborted: nothing changed (no answer on stdin: pass --force to skip the question)")
	code, _, errOut = ctlIn(t, "n\n", http, "dest", "purge", "orders")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: aborted: nothing changed\n", errOut)
	require.Equal(t, int64(2), destInfo(t, http, "orders").Depth)

	code, out, errOut = ctlIn(t, "y\n", http, "dest", "purge", "orders")
	require.Zero(t, code, errOut)
	require.True(t, strings.HasSuffix(out, "Purged orders: 2 messages dropped.\n"), out)
	d := destInfo(t, http, "orders")
	require.Equal(t, int64(0), d.Depth)
	require.Equal(t, uint64(3), d.LastSeq, "seqs go on")
	require.Len(t, d.Groups[0].Members, 1, "the fixture's client")
	require.Zero(t, d.Groups[0].Members[0].InFlight, "what it held was purged")
	require.Equal(t, adminapi.Group{Name: "billing", AckFloor: 4, Members: d.Groups[0].Members}, d.Groups[0],
		"the group is done with what was purged")

	code, out, errOut = ctl(t, http, "--json", "dest", "purge", "audit", "--force")
	require.Zero(t, code, errOut)
	var c adminapi.Change
	require.NoError(t, json.Unmarshal([]byte(out), &c))
	require.Equal(t, adminapi.Change{Action: "purge", Destination: "audit", Partition: c.Partition, Messages: 2}, c)

	code, _, errOut = ctl(t, http, "dest", "purge", "nope", "--force")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no destination nope: not found\n", errOut)
	code, _, errOut = ctl(t, http, "dest", "purge", "bad name", "--force")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `swarmctl: bad destination name "bad name": 1-251 bytes of [A-Za-z0-9._-]`)
}

// TestPurgeUnderLoad purges while a producer publishes: every publish is
// answered, nothing purged comes back, and seqs keep growing.
func TestPurgeUnderLoad(t *testing.T) {
	n := nodetest.Start(t, nil)
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	done := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		var last uint64
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			res, err := c.Publish(ctx, "load", []byte("x"), []byte("y"))
			if err == nil && res[1].Seq <= last {
				err = errorString("seqs went back")
			}
			if err != nil {
				done <- err
				return
			}
			last = res[1].Seq
		}
	}()
	var dropped uint64
	for i := 0; i < 5; i++ {
		code, out, errOut := ctl(t, http, "--json", "dest", "purge", "load", "--force")
		if code == 1 && strings.Contains(errOut, "no destination load") {
			continue // the first publish has not applied yet
		}
		require.Zero(t, code, errOut)
		var ch adminapi.Change
		require.NoError(t, json.Unmarshal([]byte(out), &ch))
		dropped += ch.Messages
	}
	close(stop)
	require.NoError(t, <-done)
	d := destInfo(t, http, "load")
	require.Equal(t, uint64(d.Depth)+dropped, d.LastSeq, "each message was purged once or is still there")
	ds, err := c.Fetch(ctx, "load", "late", 1000, 0)
	require.NoError(t, err)
	require.Len(t, ds, int(d.Depth), "a new group reads only what was stored after the last purge")
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestCreate(t *testing.T) {
	n := nodetest.Start(t, nil)
	http := "--http=" + n.HTTPAddr().String()
	code, out, errOut := ctl(t, http, "dest", "create", "small", "--max-msgs", "2", "--max-bytes", "100", "--max-age", "1h")
	require.Zero(t, code, errOut)
	require.Regexp(t, `^Created small \(partition \d+\)\.\n$`, out)
	d := destInfo(t, http, "small")
	require.Equal(t, adminapi.Limits{Retention: "interest", MaxMsgs: 2, MaxBytes: 100, MaxAgeSeconds: 3600,
		MaxDeliver: d.Limits.MaxDeliver, AckTimeoutSeconds: d.Limits.AckTimeoutSeconds}, d.Limits)

	c, ctx := dial(t, n)
	_, err := c.Publish(ctx, "small", []byte("a"), []byte("b"))
	require.NoError(t, err)
	_, err = c.Publish(ctx, "small", []byte("c"))
	require.ErrorContains(t, err, "DESTINATION_FULL", "the destination's own max-msgs")
	_, err = c.Publish(ctx, "other", []byte("a"), []byte("b"), []byte("c"))
	require.NoError(t, err, "the node's limits for the others")

	code, _, errOut = ctl(t, http, "dest", "create", "small")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: destination small exists (delete it first to create it anew)\n", errOut)
	code, _, errOut = ctl(t, http, "dest", "create", "x", "--retention", "forever")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--retention must be one of")

	code, out, errOut = ctl(t, http, "--json", "dest", "create", "log", "--retention", "limits", "--max-msgs=-1")
	require.Zero(t, code, errOut)
	require.Contains(t, out, `"action": "create"`)
	d = destInfo(t, http, "log")
	require.Equal(t, "limits", d.Limits.Retention)
	require.Zero(t, d.Limits.MaxMsgs)
	code, out, errOut = ctl(t, http, "dest", "info", "log")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Retention       limits\n")
}

func TestDelete(t *testing.T) {
	n := fixture(t)
	http := "--http=" + n.HTTPAddr().String()
	code, out, errOut := ctlIn(t, "yes\n", http, "dest", "delete", "orders")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Delete orders, its 2 messages and its 1 groups? [y/N] Deleted orders: 2 messages dropped.\n")
	code, _, errOut = ctl(t, http, "dest", "info", "orders")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no destination orders: not found\n", errOut)
	code, out, _ = ctl(t, http, "dest", "ls")
	require.Zero(t, code)
	require.NotContains(t, out, "orders")
	code, _, errOut = ctl(t, http, "dest", "delete", "orders", "--force")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no destination orders: not found\n", errOut)

	// Used again, it comes back; seqs go on after the deleted ones.
	c, ctx := dial(t, n)
	res, err := c.Publish(ctx, "orders", []byte("again"))
	require.NoError(t, err)
	require.Equal(t, uint64(4), res[0].Seq)
	d := destInfo(t, http, "orders")
	require.Empty(t, d.Groups)
	require.Equal(t, int64(1), d.Depth)
}

func TestGroupResetAndDelete(t *testing.T) {
	n := fixture(t) // orders: 1 acked by billing, 2 in flight, 3 pending
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)

	code, out, errOut := ctl(t, http, "group", "reset", "orders", "billing", "--to", "latest")
	require.Zero(t, code, errOut)
	require.Equal(t, "Reset group billing of orders: it reads from seq 4.\n", out)
	require.Equal(t, int64(0), destInfo(t, http, "orders").Depth, "interest retention: billing was the only group")

	_, err := c.Publish(ctx, "orders", []byte("d"), []byte("e"), []byte("f"))
	require.NoError(t, err)
	code, out, errOut = ctl(t, http, "group", "reset", "orders", "billing", "--to", "seq", "5")
	require.Zero(t, code, errOut)
	require.Equal(t, "Reset group billing of orders: it reads from seq 5.\n", out)
	ds, err := c.Fetch(ctx, "orders", "billing", 10, time.Second)
	require.NoError(t, err)
	require.Equal(t, []uint64{5, 6}, seqsOf(ds))
	require.NoError(t, c.Ack(ctx, "orders", "billing", 5, 6))

	// Under interest retention what every group acked is gone: a reset
	// to a time before everything finds only what is retained (nothing).
	code, out, errOut = ctl(t, http, "group", "reset", "orders", "billing", "--to", "time:2000-01-01T00:00:00Z")
	require.Zero(t, code, errOut)
	require.Equal(t, "Reset group billing of orders: it reads from seq 7.\n", out)

	// Under limits retention the acked messages stay: reset, re-consume.
	code, _, errOut = ctl(t, http, "dest", "create", "log", "--retention", "limits")
	require.Zero(t, code, errOut)
	_, err = c.Publish(ctx, "log", []byte("1"), []byte("2"), []byte("3"))
	require.NoError(t, err)
	ds, err = c.Fetch(ctx, "log", "g", 10, time.Second)
	require.NoError(t, err)
	require.NoError(t, c.Ack(ctx, "log", "g", seqsOf(ds)...))
	require.Equal(t, int64(3), destInfo(t, http, "log").Depth, "acked, retained")
	code, _, errOut = ctl(t, http, "group", "reset", "log", "g", "--to", "time", time.Now().Add(-time.Hour).Format(time.RFC3339))
	require.Zero(t, code, errOut)
	ds, err = c.Fetch(ctx, "log", "g", 10, time.Second)
	require.NoError(t, err)
	require.Equal(t, []uint64{1, 2, 3}, seqsOf(ds))
	require.Equal(t, uint32(1), ds[0].Attempt)
	code, out, errOut = ctl(t, http, "group", "reset", "log", "g", "--to", "earliest")
	require.Zero(t, code, errOut)
	require.Equal(t, "Reset group g of log: it reads from seq 1.\n", out)

	for _, bad := range [][]string{
		{"--to", "seq"}, {"--to", "seq", "x"}, {"--to", "time", "yesterday"}, {"--to", "first"},
		{"--to", "latest", "3"}, {"--to", "seq:3", "4"},
	} {
		code, _, errOut = ctl(t, append([]string{http, "group", "reset", "orders", "billing"}, bad...)...)
		require.Equal(t, 1, code, bad)
		require.Contains(t, errOut, "swarmctl: --to", bad)
	}
	code, _, errOut = ctl(t, http, "group", "reset", "orders", "nope", "--to", "earliest")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no group nope on destination orders: not found\n", errOut)

	code, out, errOut = ctl(t, http, "group", "delete", "orders", "billing", "--force")
	require.Zero(t, code, errOut)
	require.Equal(t, "Deleted group billing of orders.\n", out)
	require.Empty(t, destInfo(t, http, "orders").Groups)
	code, _, errOut = ctl(t, http, "group", "delete", "orders", "billing", "--force")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no group billing on destination orders: not found\n", errOut)
}

func seqsOf(ds []client.Delivery) []uint64 {
	out := make([]uint64, len(ds))
	for i, d := range ds {
		out[i] = d.Seq
	}
	return out
}

func TestMsgGet(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.MessageCache = -1 }) // every read from the log
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	res, err := c.Publish(ctx, "orders", []byte("hello"), []byte{0, 1, 2})
	require.NoError(t, err)

	code, out, errOut := ctl(t, http, "msg", "get", "orders", "1")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Seq          1\n")
	require.Contains(t, out, "Payload      \"hello\"\n")
	require.Contains(t, out, "Key id       0 (not sealed)\n")
	code, out, _ = ctl(t, http, "msg", "get", "orders", "2")
	require.Zero(t, code)
	require.Contains(t, out, "(binary: --raw writes its bytes")
	code, out, _ = ctl(t, http, "msg", "get", "orders", "2", "--raw")
	require.Zero(t, code)
	require.Equal(t, "\x00\x01\x02", out)

	code, out, _ = ctl(t, http, "--json", "msg", "get", "orders", "1")
	require.Zero(t, code)
	var m adminapi.Message
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.Equal(t, "hello", string(m.Payload))
	require.Equal(t, 5, m.Size)
	require.Len(t, m.ID, 32)
	_, err = hex.DecodeString(m.ID)
	require.NoError(t, err)
	_ = res

	// Peeking delivers nothing: a group still gets both with attempt 1.
	ds, err := c.Fetch(ctx, "orders", "g", 10, time.Second)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, uint32(1), ds[0].Attempt)
	require.Equal(t, m.ID, hex.EncodeToString(ds[0].ID[:]))

	code, _, errOut = ctl(t, http, "msg", "get", "orders", "9")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "swarmctl: no message 9 retained in orders")
	code, _, errOut = ctl(t, http, "msg", "get", "nope", "1")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no destination nope: not found\n", errOut)
	code, _, errOut = ctl(t, http, "msg", "get", "orders", "x")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "seq")
}

// TestMsgGetHeaders: msg get shows a message's header fields in their
// stored order, as text and in JSON; a message without headers has none.
func TestMsgGetHeaders(t *testing.T) {
	n := nodetest.Start(t, nil)
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	h := client.Headers{}
	h.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.Add("Tag", "a")
	h.Add("Tag", "b \"quoted\"")
	_, err := c.PublishMsgs(ctx, "orders", client.Message{Payload: []byte("with"), Headers: h}, client.Message{Payload: []byte("without")})
	require.NoError(t, err)

	code, out, errOut := ctl(t, http, "msg", "get", "orders", "1")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Payload      \"with\"\n"+
		"Header       \"Tag\": \"a\"\n"+
		"Header       \"Tag\": \"b \\\"quoted\\\"\"\n"+
		"Header       \"traceparent\": \"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"\n")
	code, out, _ = ctl(t, http, "--json", "msg", "get", "orders", "1")
	require.Zero(t, code)
	var m adminapi.Message
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.Equal(t, "with", string(m.Payload))
	require.Equal(t, []adminapi.HeaderField{{Key: "Tag", Value: "a"}, {Key: "Tag", Value: `b "quoted"`},
		{Key: "traceparent", Value: h.Get("traceparent")}}, m.Headers)

	code, out, _ = ctl(t, http, "--json", "msg", "get", "orders", "2")
	require.Zero(t, code)
	require.NotContains(t, out, "headers")
	code, out, _ = ctl(t, http, "msg", "get", "orders", "2")
	require.Zero(t, code)
	require.NotContains(t, out, "Header")
}

func TestDLQReplay(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.Queue.MaxDeliver = 1 })
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	res, err := c.Publish(ctx, "jobs", []byte("a"), []byte("b"))
	require.NoError(t, err)
	ds, err := c.Fetch(ctx, "jobs", "w", 10, time.Second)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	ids := [][16]byte{ds[0].ID, ds[1].ID}
	require.NoError(t, c.Nack(ctx, "jobs", "w", 0, ds[0].Seq, ds[1].Seq)) // one attempt: both dead-letter
	dead, err := c.Fetch(ctx, "jobs.dlq", "ops", 10, 10*time.Second)
	require.NoError(t, err)
	require.Len(t, dead, 2)

	// Each copy says where it came from and why.
	code, out, errOut := ctl(t, http, "msg", "get", "jobs.dlq", "2")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Dead-lettered from  jobs seq 2, by group w\n")
	require.Contains(t, out, "Why                 delivered 1 times without an ack (max_deliver)\n")
	code, out, _ = ctl(t, http, "--json", "msg", "get", "jobs.dlq", "1")
	require.Zero(t, code)
	var m adminapi.Message
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.Equal(t, &adminapi.DeadLetter{Destination: "jobs", Group: "w", Seq: 1, Attempts: 1, Reason: "max_deliver"}, m.DeadLetter)
	require.Equal(t, hex.EncodeToString(ids[0][:]), m.ID)

	code, out, errOut = ctl(t, http, "dlq", "replay", "jobs")
	require.Zero(t, code, errOut)
	require.Equal(t, "Replayed 2 messages from jobs.dlq into jobs.\n", out)
	again, err := c.Fetch(ctx, "jobs", "w", 10, time.Second)
	require.NoError(t, err)
	require.Equal(t, []uint64{3, 4}, seqsOf(again), "new seqs")
	require.Equal(t, ids, [][16]byte{again[0].ID, again[1].ID}, "the same ids")
	require.Equal(t, int64(0), destInfo(t, http, "jobs.dlq").Depth)
	_ = res

	code, _, errOut = ctl(t, http, "dlq", "replay", "nope")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no dead letters to replay: no destination nope.dlq: not found\n", errOut)
	code, _, errOut = ctl(t, http, "dlq", "replay", "jobs.dlq")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "replay names the destination whose dead letters go back (jobs), not jobs.dlq")
}

// TestFetchFrom: a group created by a FETCH with a start begins there (the
// START flag of FETCH); an existing group is not moved; and under limits
// retention a group reset re-consumes what was acknowledged.
func TestFetchFrom(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.Queue.Retention = queue.RetentionLimits })
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	_, err := c.Publish(ctx, "events", []byte("1"), []byte("2"), []byte("3"), []byte("4"))
	require.NoError(t, err)
	cut := time.Now()

	groups := []struct {
		name string
		from client.Start
		want []uint64
	}{
		{"all", client.StartEarliest(), []uint64{1, 2, 3, 4, 5}},
		{"new", client.StartLatest(), []uint64{5}},
		{"from3", client.StartAtSeq(3), []uint64{3, 4, 5}},
		{"since", client.StartAtTime(cut), []uint64{5}},
	}
	got := map[string][]uint64{}
	for _, g := range groups { // the first FETCH creates the group (and may be served once it exists)
		ds, err := c.FetchFrom(ctx, "events", g.name, 10, 0, g.from)
		require.NoError(t, err)
		got[g.name] = seqsOf(ds)
	}
	for _, g := range groups { // wait until every group exists
		for code := 1; code != 0; {
			code, _, _ = ctl(t, http, "group", "info", "events", g.name)
		}
	}
	_, err = c.Publish(ctx, "events", []byte("5"))
	require.NoError(t, err)
	for _, g := range groups {
		for len(got[g.name]) < len(g.want) {
			ds, err := c.FetchFrom(ctx, "events", g.name, 10, time.Second, g.from)
			require.NoError(t, err)
			require.NotEmpty(t, ds, g.name)
			got[g.name] = append(got[g.name], seqsOf(ds)...)
		}
		require.Equal(t, g.want, got[g.name], g.name)
	}
	// An existing group is not moved by a later start.
	ds, err := c.FetchFrom(ctx, "events", "new", 10, 0, client.StartEarliest())
	require.NoError(t, err)
	require.Empty(t, ds, "5 is in flight, nothing else is new")
	require.Equal(t, "limits", destInfo(t, http, "events").Limits.Retention, "the node's retention")

	require.NoError(t, c.Ack(ctx, "events", "all", 1, 2, 3, 4, 5))
	code, _, errOut := ctl(t, http, "group", "reset", "events", "all", "--to", "seq:2")
	require.Zero(t, code, errOut)
	ds, err = c.Fetch(ctx, "events", "all", 10, time.Second)
	require.NoError(t, err)
	require.Equal(t, []uint64{2, 3, 4, 5}, seqsOf(ds), "acknowledged under limits retention, read again")
}

// TestGroupCounters: group info counts a group's redeliveries (deliveries
// with attempt > 1) and the messages it dead-lettered; a reset keeps them.
func TestGroupCounters(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.Queue.MaxDeliver = 3 })
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	_, err := c.Publish(ctx, "jobs", []byte("a"), []byte("b"), []byte("c"))
	require.NoError(t, err)
	for attempt := uint32(1); attempt <= 3; attempt++ {
		ds, err := c.Fetch(ctx, "jobs", "w", 2, 10*time.Second)
		require.NoError(t, err)
		require.Len(t, ds, 2)
		require.Equal(t, attempt, ds[0].Attempt)
		require.NoError(t, c.Nack(ctx, "jobs", "w", 0, ds[0].Seq, ds[1].Seq))
	}
	dead, err := c.Fetch(ctx, "jobs.dlq", "ops", 10, 10*time.Second)
	require.NoError(t, err)
	require.Len(t, dead, 2, "after 3 attempts each")

	code, out, errOut := ctl(t, http, "--json", "group", "info", "jobs", "w")
	require.Zero(t, code, errOut)
	var g adminapi.Group
	require.NoError(t, json.Unmarshal([]byte(out), &g))
	require.Len(t, g.Members, 1)
	require.Equal(t, uint64(6), g.Members[0].Delivered)
	require.Zero(t, g.Members[0].InFlight, "NACKed, then dead-lettered")
	require.Equal(t, adminapi.Group{Name: "w", Lag: 1, Pending: 1, AckFloor: 3, Redeliveries: 4, DeadLettered: 2, Members: g.Members}, g)

	code, _, errOut = ctl(t, http, "group", "reset", "jobs", "w", "--to", "latest")
	require.Zero(t, code, errOut)
	code, out, errOut = ctl(t, http, "group", "ls", "jobs")
	require.Zero(t, code, errOut)
	require.Equal(t, "GROUP  LAG  PENDING  IN FLIGHT  ACK FLOOR  REDELIVERED  DEAD-LETTERED  MEMBERS\n"+
		"w      0    0        0          4          4            2              1\n", out)
}
