package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// ctl runs swarmctl with args in process and returns its exit status,
// stdout and stderr.
func ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// rows splits a table into its lines' fields.
func rows(s string) [][]string {
	var rs [][]string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		rs = append(rs, strings.Fields(l))
	}
	return rs
}

// fixture starts a node and gives it two destinations: orders (a, bb, ccc;
// group billing fetched 2 and acked 1, by a client that stays connected
// until the test ends: the group's member) and audit (xxxx, yyyy, no
// group).
func fixture(t *testing.T) *nodetest.Node {
	t.Helper()
	n := nodetest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), ClientID: t.Name()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	_, err = c.Publish(ctx, "orders", []byte("a"), []byte("bb"), []byte("ccc"))
	require.NoError(t, err)
	_, err = c.Publish(ctx, "audit", []byte("xxxx"), []byte("yyyy"))
	require.NoError(t, err)
	ds, err := c.Fetch(ctx, "orders", "billing", 2, time.Second)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.NoError(t, c.Ack(ctx, "orders", "billing", ds[0].Seq))
	return n
}

func TestCommands(t *testing.T) {
	n := fixture(t)
	http := "--http=" + n.HTTPAddr().String()

	code, out, errOut := ctl(t, http, "status")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Health          ok\n")
	require.Contains(t, out, "Destinations    2\n")
	require.Contains(t, out, "Client address  "+n.AddrString()+"\n")

	code, out, errOut = ctl(t, http, "dest", "ls")
	require.Zero(t, code, errOut)
	rs := rows(out)
	require.Equal(t, []string{"DESTINATION", "PARTITION", "DEPTH", "BYTES", "OLDEST", "LAST", "SEQ", "MSG/S", "10S", "MSG/S", "1M",
		"PUBLISHED", "GROUPS"}, rs[0])
	require.Len(t, rs, 3)
	require.Equal(t, "audit", rs[1][0])
	require.Equal(t, []string{"2", "8"}, rs[1][2:4])
	require.Equal(t, "2", rs[1][5])
	require.Equal(t, []string{"2", "-"}, rs[1][8:], "2 published")
	require.Equal(t, "orders", rs[2][0])
	require.Equal(t, []string{"2", "5"}, rs[2][2:4], "seq 1 is dropped: its only group acked it")
	require.Equal(t, "3", rs[2][5])
	require.Equal(t, []string{"3", "billing"}, rs[2][8:])
	for _, r := range rs[1:] {
		for _, rate := range r[6:8] {
			require.Regexp(t, `^\d+\.\d$`, rate)
			require.NotEqual(t, "0.0", rate, "published within the last 10 s")
		}
	}
	require.Equal(t, strings.Index(out, "PARTITION"), strings.Index(strings.Split(out, "\n")[1], rs[1][1]), "aligned")

	code, out, errOut = ctl(t, http, "dest", "info", "orders")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Depth           2\n")
	require.Contains(t, out, "Seqs retained   2..3\n")
	require.Contains(t, out, "Max deliver     5\n")
	require.Contains(t, out, fmt.Sprintf("Published       3 messages, %d bytes (since the node started)\n", 3*frame.MessageHeaderSize+6))
	require.Regexp(t, `(?m)^Publish rate    \d+\.\d msg/s, \d+\.?\d* B/s over 10s; \d+\.\d msg/s, \d+\.?\d* B/s over 1m$`, out)
	groups := "GROUP    LAG  PENDING  IN FLIGHT  ACK FLOOR  REDELIVERED  DEAD-LETTERED  MEMBERS\n" +
		"billing  2    1        1          2          0            0              1\n"
	require.Contains(t, out, groups)

	code, out, errOut = ctl(t, http, "group", "ls", "orders")
	require.Zero(t, code, errOut)
	require.Equal(t, groups, out)

	code, out, errOut = ctl(t, http, "group", "info", "orders", "billing")
	require.Zero(t, code, errOut)
	head := "Group          billing\nLag            2\nPending        1\nIn flight      1\nAck floor      2\nRedelivered    0\nDead-lettered  0\n\n"
	require.True(t, strings.HasPrefix(out, head), out)
	rs = rows(strings.TrimPrefix(out, head))
	require.Equal(t, [][]string{{"CONN", "REMOTE", "CLIENT", "LAST", "FETCH", "IN", "FLIGHT", "DELIVERED", "WAITING"},
		{"1", rs[1][1], "TestCommands", rs[1][3], "ago", "1", "2", "no"}}, rs, "one member: the fixture's client, 2 delivered, 1 acked")
	require.Regexp(t, `^127\.0\.0\.1:\d+$`, rs[1][1])
}

func TestJSON(t *testing.T) {
	n := fixture(t)
	http := "--http=" + n.HTTPAddr().String()

	code, out, errOut := ctl(t, http, "--json", "dest", "ls")
	require.Zero(t, code, errOut)
	var ds []adminapi.Destination
	require.NoError(t, json.Unmarshal([]byte(out), &ds))
	require.Len(t, ds, 2)
	orders := ds[1]
	require.Equal(t, "orders", orders.Name)
	require.Equal(t, int64(2), orders.Depth)
	require.Equal(t, int64(5), orders.Bytes)
	require.Equal(t, uint64(2), orders.FirstSeq)
	require.Equal(t, uint64(3), orders.LastSeq)
	require.Greater(t, orders.OldestAgeSeconds, 0.0)
	require.Equal(t, uint64(3), orders.Publish.Messages)
	require.Equal(t, uint64(3*frame.MessageHeaderSize+6), orders.Publish.Bytes)
	require.Greater(t, orders.Publish.MsgsPerSec10s, 0.0)
	require.Greater(t, orders.Publish.MsgsPerSec1m, 0.0)
	require.Greater(t, orders.Publish.BytesPerSec1m, orders.Publish.MsgsPerSec1m)
	require.Len(t, orders.Groups, 1)
	require.Len(t, orders.Groups[0].Members, 1)
	member := orders.Groups[0].Members[0]
	require.Equal(t, adminapi.GroupMember{Conn: 1, Remote: member.Remote, ClientID: "TestJSON",
		LastFetchAgeSeconds: member.LastFetchAgeSeconds, Delivered: 2, InFlight: 1}, member)
	require.Equal(t, adminapi.Group{Name: "billing", Lag: 2, Pending: 1, InFlight: 1, AckFloor: 2,
		Members: orders.Groups[0].Members}, orders.Groups[0])
	require.Equal(t, adminapi.Destination{Name: "audit", Partition: ds[0].Partition, Depth: 2, Bytes: 8, FirstSeq: 1, LastSeq: 2,
		OldestAgeSeconds: ds[0].OldestAgeSeconds, Publish: ds[0].Publish, Limits: ds[0].Limits, Groups: []adminapi.Group{}}, ds[0])
	require.Equal(t, uint64(2), ds[0].Publish.Messages)

	code, out, errOut = ctl(t, http, "--json", "group", "info", "orders", "billing")
	require.Zero(t, code, errOut)
	var g adminapi.Group
	require.NoError(t, json.Unmarshal([]byte(out), &g))
	require.Len(t, g.Members, 1)
	require.Equal(t, adminapi.Group{Name: "billing", Lag: 2, Pending: 1, InFlight: 1, AckFloor: 2, Members: g.Members}, g)
	require.Equal(t, member.Remote, g.Members[0].Remote)

	code, out, errOut = ctl(t, http, "--json", "status")
	require.Zero(t, code, errOut)
	var s adminapi.Status
	require.NoError(t, json.Unmarshal([]byte(out), &s))
	require.Equal(t, "ok", s.Status)
	require.Equal(t, 2, s.Destinations)
	require.Len(t, s.PartitionsLed, int(s.Partitions))
}

func TestNotFound(t *testing.T) {
	n := fixture(t)
	http := "--http=" + n.HTTPAddr().String()
	code, out, errOut := ctl(t, http, "dest", "info", "nope")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, "swarmctl: no destination nope: not found\n", errOut)

	code, _, errOut = ctl(t, http, "group", "info", "orders", "nope")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no group nope on destination orders: not found\n", errOut)

	code, _, errOut = ctl(t, http, "--json", "group", "ls", "a b/c")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no destination a b/c: not found\n", errOut)
}

// freeAddr returns an address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestUnreachable(t *testing.T) {
	dead := freeAddr(t)
	code, out, errOut := ctl(t, "--http", dead, "status")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "cannot reach the node's admin HTTP address (--http, node.http_addr; not the client port")
	require.Contains(t, errOut, dead+": ")
	require.Contains(t, errOut, "connection refused")

	n := nodetest.Start(t, nil)
	code, out, errOut = ctl(t, "--http", dead+","+n.HTTPAddr().String(), "status")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Health          ok\n", "the first address that answers")

	code, _, errOut = ctl(t, "--timeout", "2s", "--http", n.AddrString(), "status")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, n.AddrString()+": ")
	require.Contains(t, errOut, "the node's client port? swarmctl needs the admin HTTP address")
}

func TestCommandLine(t *testing.T) {
	code, out, _ := ctl(t, "--version")
	require.Zero(t, code)
	require.True(t, strings.HasPrefix(out, "swarmctl "), out)

	code, _, errOut := ctl(t, "dest", "info")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "expected \"<name>\"")

	code, _, errOut = ctl(t, "--http", " , ", "status")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "--http: no address given")
}

// TestReadsUnderLoad: swarmctl reads while a producer publishes and a
// consumer acks (run with -race: the partitions are read on their owning
// workers only); depth and last seq only move forwards.
func TestReadsUnderLoad(t *testing.T) {
	n := nodetest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), ClientID: t.Name()})
	require.NoError(t, err)
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 50; i++ {
			if _, err := c.Publish(ctx, "load", []byte("p1"), []byte("p2")); err != nil {
				done <- err
				return
			}
			ds, err := c.Fetch(ctx, "load", "g", 1, 0)
			if err == nil && len(ds) == 1 {
				err = c.Ack(ctx, "load", "g", ds[0].Seq)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	http := "--http=" + n.HTTPAddr().String()
	var last uint64
	for finished := false; !finished; {
		select {
		case err := <-done:
			require.NoError(t, err)
			finished = true
		default:
		}
		code, out, errOut := ctl(t, http, "--json", "dest", "ls")
		require.Zero(t, code, errOut)
		var ds []adminapi.Destination
		require.NoError(t, json.Unmarshal([]byte(out), &ds))
		if len(ds) == 1 {
			require.GreaterOrEqual(t, ds[0].LastSeq, last)
			last = ds[0].LastSeq
		}
	}
	code, out, errOut := ctl(t, http, "--json", "group", "info", "load", "g")
	require.Zero(t, code, errOut)
	var g adminapi.Group
	require.NoError(t, json.Unmarshal([]byte(out), &g))
	require.Len(t, g.Members, 1, "the client, still connected")
	require.Equal(t, adminapi.Group{Name: "g", Lag: 50, Pending: 50, AckFloor: 51, Members: g.Members}, g, "50 of 100 acked, in order")
	require.Equal(t, uint64(50), g.Members[0].Delivered)
	require.Zero(t, g.Members[0].InFlight)
}
