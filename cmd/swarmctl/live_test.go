package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// TestPublishRate: N messages published show as N published, with a rate
// over 10 s and over a minute, in the admin API and in /metrics; a
// retried publish (a duplicate) is not counted again.
func TestPublishRate(t *testing.T) {
	n := nodetest.Start(t, nil)
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	const batches, perBatch = 5, 5
	wire := 0
	var first []client.PublishResult
	var payloads [][]byte
	for b := range batches {
		payloads = payloads[:0]
		for i := range perBatch {
			p := []byte(strings.Repeat("x", b*perBatch+i))
			payloads = append(payloads, p)
			wire += frame.MessageHeaderSize + len(p)
		}
		res, err := c.Publish(ctx, "metrics", payloads...)
		require.NoError(t, err)
		if b == 0 {
			first = res
		}
	}
	res, err := c.PublishAgain(ctx, "metrics", first, payloads...) // the last batch's bytes under the first one's ids
	require.NoError(t, err)
	for _, r := range res {
		require.True(t, r.Duplicate)
	}

	code, out, errOut := ctl(t, http, "--json", "dest", "ls")
	require.Zero(t, code, errOut)
	var ds []adminapi.Destination
	require.NoError(t, json.Unmarshal([]byte(out), &ds))
	require.Len(t, ds, 1)
	p := ds[0].Publish
	t.Logf("publish: %+v", p)
	require.Equal(t, uint64(batches*perBatch), p.Messages)
	require.Equal(t, uint64(wire), p.Bytes)
	require.Greater(t, p.MsgsPerSec10s, 0.0)
	require.Greater(t, p.MsgsPerSec1m, 0.0)
	require.Greater(t, p.BytesPerSec10s, 0.0)
	require.Greater(t, p.BytesPerSec1m, 0.0)
	require.LessOrEqual(t, p.MsgsPerSec1m, p.MsgsPerSec10s, "all within the last 10 s: the minute's rate cannot be higher")

	code, out, errOut = ctl(t, http, "dest", "info", "metrics")
	require.Zero(t, code, errOut)
	require.Contains(t, out, fmt.Sprintf("Published       %d messages, %d bytes (since the node started)\n", batches*perBatch, wire))

	// The same totals as counters in /metrics (refreshed every second).
	const msgs, bytes = `swarmmq_destination_published_messages_total{destination="metrics"}`,
		`swarmmq_destination_published_bytes_total{destination="metrics"}`
	metricsHas(t, n, map[string]bool{msgs: true, bytes: true})
	text := scrapeMetrics(t, n)
	require.Contains(t, text, fmt.Sprintf("\n%s %d\n", msgs, batches*perBatch))
	require.Contains(t, text, fmt.Sprintf("\n%s %d\n", bytes, wire))
}

// memberByClient returns the member of g whose client id is id.
func memberByClient(g adminapi.Group, id string) (adminapi.GroupMember, bool) {
	i := slices.IndexFunc(g.Members, func(m adminapi.GroupMember) bool { return m.ClientID == id })
	if i < 0 {
		return adminapi.GroupMember{}, false
	}
	return g.Members[i], true
}

// groupInfo reads group g of dest through swarmctl --json.
func groupInfo(t *testing.T, http, dest, g string) adminapi.Group {
	t.Helper()
	code, out, errOut := ctl(t, http, "--json", "group", "info", dest, g)
	require.Zero(t, code, errOut)
	var gr adminapi.Group
	require.NoError(t, json.Unmarshal([]byte(out), &gr))
	return gr
}

// TestGroupMembers: two consumers fetching in one group are its two
// members, each with the deliveries it holds; an ACK settles some; a long
// poll shows as waiting; a consumer that disconnects is gone.
func TestGroupMembers(t *testing.T) {
	n := nodetest.Start(t, nil)
	http := "--http=" + n.HTTPAddr().String()
	c, ctx := dial(t, n)
	c1, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), ClientID: "consumer-1"})
	require.NoError(t, err)
	t.Cleanup(c1.Close)
	c2, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), ClientID: "consumer-2"})
	require.NoError(t, err)
	t.Cleanup(c2.Close)
	_, err = c.Publish(ctx, "work", []byte("1"), []byte("2"), []byte("3"), []byte("4"), []byte("5"))
	require.NoError(t, err)

	ds1, err := c1.Fetch(ctx, "work", "g", 3, time.Second)
	require.NoError(t, err)
	require.Len(t, ds1, 3)
	ds2, err := c2.Fetch(ctx, "work", "g", 2, time.Second)
	require.NoError(t, err)
	require.Len(t, ds2, 2)

	g := groupInfo(t, http, "work", "g")
	require.Equal(t, 5, g.InFlight)
	require.Len(t, g.Members, 2, "the publisher fetched nothing")
	m1, ok := memberByClient(g, "consumer-1")
	require.True(t, ok)
	m2, ok := memberByClient(g, "consumer-2")
	require.True(t, ok)
	require.Equal(t, adminapi.GroupMember{Conn: m1.Conn, Remote: m1.Remote, ClientID: "consumer-1",
		LastFetchAgeSeconds: m1.LastFetchAgeSeconds, Delivered: 3, InFlight: 3}, m1)
	require.Equal(t, adminapi.GroupMember{Conn: m2.Conn, Remote: m2.Remote, ClientID: "consumer-2",
		LastFetchAgeSeconds: m2.LastFetchAgeSeconds, Delivered: 2, InFlight: 2}, m2)
	require.NotEqual(t, m1.Conn, m2.Conn)
	require.NotEqual(t, m1.Remote, m2.Remote)
	require.Regexp(t, `^127\.0\.0\.1:\d+$`, m1.Remote)

	code, out, errOut := ctl(t, http, "group", "info", "work", "g")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "CONN  REMOTE")
	require.Regexp(t, fmt.Sprintf(`(?m)^%d +%s +consumer-1 +\d+s ago +3 +3 +no$`, m1.Conn, m1.Remote), out)
	require.Regexp(t, fmt.Sprintf(`(?m)^%d +%s +consumer-2 +\d+s ago +2 +2 +no$`, m2.Conn, m2.Remote), out)

	require.NoError(t, c1.Ack(ctx, "work", "g", ds1[0].Seq))
	m1, _ = memberByClient(groupInfo(t, http, "work", "g"), "consumer-1")
	require.Equal(t, 2, m1.InFlight, "one acked")

	// A long poll of consumer-1, woken by a publish.
	polled := make(chan []client.Delivery, 1)
	go func() {
		ds, err := c1.Fetch(ctx, "work", "g", 1, 30*time.Second)
		if err != nil {
			t.Errorf("long poll: %v", err)
		}
		polled <- ds
	}()
	require.Eventually(t, func() bool {
		m, _ := memberByClient(groupInfo(t, http, "work", "g"), "consumer-1")
		return m.Waiting
	}, nodetest.Timeout, 10*time.Millisecond, "consumer-1 waits in a long poll")
	_, err = c.Publish(ctx, "work", []byte("6"))
	require.NoError(t, err)
	require.Len(t, <-polled, 1)
	m1, _ = memberByClient(groupInfo(t, http, "work", "g"), "consumer-1")
	require.False(t, m1.Waiting)
	require.Equal(t, 3, m1.InFlight)
	require.Equal(t, uint64(4), m1.Delivered)

	c2.Close()
	require.Eventually(t, func() bool {
		g := groupInfo(t, http, "work", "g")
		_, found := memberByClient(g, "consumer-2")
		return !found && len(g.Members) == 1
	}, nodetest.Timeout, 10*time.Millisecond, "consumer-2 disconnected: it is gone")
}
