package netio

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
)

// readMetadata reads the next frame, which must be METADATA_OK for corr.
func (c *client) readMetadata(corr uint64) frame.Metadata {
	c.t.Helper()
	f := c.read()
	require.Equal(c.t, frame.TypeMetadataOK, f.Type)
	require.Equal(c.t, corr, f.Corr)
	var m frame.Metadata
	require.NoError(c.t, frame.DecodeMetadataOK(f.Body, &m))
	return m
}

// TestMetadataSingleNode checks a node without Options.Leaders: it leads
// every partition and names itself "", at epoch 0; METADATA takes no
// credit (two with one credit granted) and nothing reaches the stages.
func TestMetadataSingleNode(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.hello(1, 0)
	c.write(append(frame.AppendMetadata(nil, 5), frame.AppendMetadata(nil, 6)...))
	for _, corr := range []uint64{5, 6} {
		m := c.readMetadata(corr)
		require.Zero(t, m.Epoch)
		require.Len(t, m.Nodes, 1)
		require.Empty(t, m.Nodes[0])
		require.Equal(t, make([]uint16, 16), m.Leaders)
	}
	c.ping(7)
	require.Zero(t, e.ring.Len())
}

// TestMetadataLeaders checks a cluster node's table: each leader's
// address once, "" as no leader, and the epoch Leaders reports at the
// time of each request.
func TestMetadataLeaders(t *testing.T) {
	var epoch atomic.Uint64
	epoch.Store(3)
	addrs := []string{"h:1", "h:2", "", "h:1"}
	opts := testOptions()
	opts.Partitions = 4
	opts.Leaders = func() (uint64, []string) { return epoch.Load(), addrs }
	e := startEnv(t, opts, 16)
	c := e.dial()
	c.hello(0, 0)
	c.write(frame.AppendMetadata(nil, 1))
	m := c.readMetadata(1)
	require.Equal(t, uint64(3), m.Epoch)
	require.Equal(t, [][]byte{[]byte("h:1"), []byte("h:2")}, m.Nodes)
	require.Equal(t, []uint16{0, 1, frame.NoLeader, 0}, m.Leaders)
	epoch.Store(4)
	c.write(frame.AppendMetadata(nil, 2))
	require.Equal(t, uint64(4), c.readMetadata(2).Epoch)
}

// TestMetadataBadBody checks that a METADATA with a body is MALFORMED,
// which closes the connection, and that METADATA needs HELLO first.
func TestMetadataBadBody(t *testing.T) {
	e := startEnv(t, testOptions(), 16)
	c := e.dial()
	c.hello(0, 0)
	b := frame.AppendMetadata(nil, 1)
	b = append(b, 0)
	frame.PatchLength(b, 0)
	c.write(b)
	c.expectError(frame.CodeMalformed)
	c.expectEOF()
	e.waitClosed()

	c = e.dial()
	c.write(frame.AppendMetadata(nil, 1))
	c.expectError(frame.CodeHandshakeRequired)
	c.expectEOF()
}
