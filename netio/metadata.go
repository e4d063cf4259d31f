package netio

import (
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
)

// metadata answers METADATA with the partition → leader table
// (docs/protocol.md, METADATA). Like PING it is answered here, takes no
// credit and never reaches the stages.
//
// Without Options.Leaders the node is alone: one node, "" (the node the
// client is talking to), leads every partition, at epoch 0. With it, each
// partition's leader is named by its client address; "" from Leaders
// means no known leader (frame.NoLeader on the wire).
func (c *Conn) metadata(in inbuf, f frame.Frame) (closeNow bool) {
	if err := frame.DecodeEmpty(f.Body); err != nil {
		return c.fail(in, f.Corr, frame.CodeOf(err), err.Error())
	}
	m := leaderTable(c.srv.opts.Partitions, c.srv.opts.Leaders)
	reply := frame.AppendMetadataOK(nil, f.Corr, m)
	if len(reply) > c.loop.maxFrame {
		c.srv.metrics.protocolErrors.Inc()
		msg := fmt.Sprintf("the leader table (%d bytes) does not fit in a frame of %d bytes", len(reply), c.loop.maxFrame)
		c.reply(func(dst []byte) []byte { return frame.AppendError(dst, f.Corr, frame.CodeInternal, msg) }, false)
		return false
	}
	c.reply(func(dst []byte) []byte { return append(dst, reply...) }, false)
	return false
}

// leaderTable builds METADATA_OK's body from leaders (nil: a single node
// with partitions partitions): each distinct address once, in the order
// of the partitions that name it first.
func leaderTable(partitions uint32, leaders func() (uint64, []string)) frame.Metadata {
	if leaders == nil {
		m := frame.Metadata{Nodes: [][]byte{nil}, Leaders: make([]uint16, partitions)}
		return m
	}
	epoch, addrs := leaders()
	m := frame.Metadata{Epoch: epoch, Leaders: make([]uint16, len(addrs))}
	index := make(map[string]uint16)
	for p, a := range addrs {
		i, ok := index[a]
		switch {
		case a == "":
			i = frame.NoLeader
		case !ok && len(m.Nodes) < frame.MaxMetadataNodes:
			i = uint16(len(m.Nodes))
			index[a] = i
			m.Nodes = append(m.Nodes, []byte(a))
		case !ok:
			i = frame.NoLeader
		}
		m.Leaders[p] = i
	}
	return m
}
