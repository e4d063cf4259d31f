package work

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
)

// recConn records the errors sent to it.
type recConn struct {
	closed bool
	codes  []frame.Code
	corrs  []uint64
}

func (c *recConn) Send([]byte) error { return nil }
func (c *recConn) SendError(corr uint64, code frame.Code, _ string) error {
	c.codes, c.corrs = append(c.codes, code), append(c.corrs, corr)
	return nil
}
func (c *recConn) Closed() bool  { return c.closed }
func (c *recConn) MaxFrame() int { return 1 << 20 }

func TestForwardOpenRing(t *testing.T) {
	ring := graph.NewRing[*Request](1)
	c := &recConn{}
	r := NewRequest(KindAck, netio.Inbound{})
	r.Conn = c
	require.True(t, Forward(ring, r))
	require.Equal(t, []*Request{r}, ring.PopBatch(nil, 1))
	require.Empty(t, c.codes)
	r.Release()
}

// TestForwardClosedRingAnswersAndReleases: a request pushed into a ring
// whose consumer stopped is answered SHUTTING_DOWN and released, not
// dropped; one without a connection (an internal record), or whose client
// is gone, is only released.
func TestForwardClosedRingAnswersAndReleases(t *testing.T) {
	ring := graph.NewRing[*Request](1)
	ring.Close()
	c := &recConn{}
	r := NewRequest(KindPublish, netio.Inbound{})
	r.Conn, r.Corr, r.Dest = c, 42, []byte("d")
	require.False(t, Forward(ring, r))
	require.Equal(t, []frame.Code{frame.CodeShuttingDown}, c.codes)
	require.Equal(t, []uint64{42}, c.corrs)
	require.Nil(t, r.Conn, "released: the request is cleared for the pool")
	require.Nil(t, r.Dest)

	internal := NewRequest(KindGroupCreate, netio.Inbound{})
	internal.Dest = []byte("d")
	require.False(t, Forward(ring, internal))
	require.Nil(t, internal.Dest)

	gone := &recConn{closed: true}
	r = NewRequest(KindAck, netio.Inbound{})
	r.Conn = gone
	require.False(t, Forward(ring, r))
	require.Empty(t, gone.codes)
}
