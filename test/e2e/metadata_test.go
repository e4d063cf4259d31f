package e2e

import (
	"bytes"
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// readMetadata asks r's node for its leader table.
func readMetadata(t *testing.T, r *nodetest.Raw) frame.Metadata {
	t.Helper()
	corr := r.NextCorr()
	r.Write(frame.AppendMetadata(nil, corr))
	f := r.Read()
	require.Equal(t, frame.TypeMetadataOK, f.Type)
	require.Equal(t, corr, f.Corr)
	var m frame.Metadata
	require.NoError(t, frame.DecodeMetadataOK(f.Body, &m))
	return m
}

// TestMetadataSingleNode checks a real single node's answer: it leads
// every partition of HELLO_OK's count, named "" (itself), at epoch 0.
func TestMetadataSingleNode(t *testing.T) {
	n := nodetest.Start(t, nil)
	r := nodetest.Dial(t, n.AddrString())
	r.Write(frame.AppendHello(nil, r.NextCorr(), frame.Hello{}))
	hello, err := frame.DecodeHelloOK(r.Read().Body)
	require.NoError(t, err)
	m := readMetadata(t, r)
	require.Zero(t, m.Epoch)
	require.Len(t, m.Nodes, 1)
	require.Empty(t, m.Nodes[0])
	require.Equal(t, make([]uint16, hello.Partitions), m.Leaders)
}

// TestClientFollowsMetadata runs two real nodes that share a producer key,
// as a cluster's nodes must: a is told (through stages.Options.Leaders, as
// a cluster's leadership table would) that b leads every partition. A
// Client given a dead seed and a publishes and consumes through b, resuming
// at b the producer session a opened, and a stores none of it.
func TestClientFollowsMetadata(t *testing.T) {
	key := bytes.Repeat([]byte{7}, netio.ProducerKeySize)
	b := nodetest.Start(t, func(o *stages.Options) { o.ProducerKey = key })
	parts := uint32(len(readMetadata(t, nodetest.Handshake(t, b.AddrString())).Leaders))
	a := nodetest.Start(t, func(o *stages.Options) {
		o.ProducerKey = key
		o.Leaders = func() (uint64, []string) {
			addrs := make([]string, parts)
			for p := range addrs {
				addrs[p] = b.AddrString()
			}
			return 7, addrs
		}
	})
	m := readMetadata(t, nodetest.Handshake(t, a.AddrString()))
	require.Equal(t, uint64(7), m.Epoch)
	require.Equal(t, [][]byte{[]byte(b.AddrString())}, m.Nodes)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: dead + "," + a.AddrString(), ClientID: t.Name()})
	require.NoError(t, err)
	defer c.Close()
	publishN(t, c, "routed", "m", 50)
	// b stored them (a client of b alone reads them in another group);
	// a holds nothing.
	require.Len(t, drain(t, dial(t, b), "routed", "other", false), 50)
	require.Empty(t, drain(t, dial(t, a), "routed", "other", true))
	require.Len(t, drain(t, c, "routed", "g", true), 50)
}
