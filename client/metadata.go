package client

import (
	"errors"
	"fmt"
	"net"

	"github.com/swarmmq/swarmmq/frame"
)

// errNoMetadata says that a node refused METADATA: it predates it, and
// closed the connection (UNKNOWN_TYPE is fatal).
var errNoMetadata = errors.New("swarmmq/client: the node does not answer METADATA")

// metadata ends the handshake of cn with METADATA and keeps the leader
// table in cn.table; it returns the bytes read past the answer. A node
// that refuses it (UNKNOWN_TYPE or BAD_REQUEST: a node from before
// METADATA) is a single node: the Client stops asking (noMeta) and every
// partition's leader is the node at addr. After UNKNOWN_TYPE the node
// closes the connection, so errNoMetadata asks for one more.
func (c *Client) metadata(nc net.Conn, rest []byte, cn *conn, addr string) ([]byte, error) {
	if c.noMeta.Load() {
		cn.table = table{single: addr}
		return rest, nil
	}
	corr := c.nextCorr.Add(1)
	if _, err := nc.Write(frame.AppendMetadata(nil, corr)); err != nil {
		return nil, err
	}
	f, rest, err := readNext(nc, rest, cn.maxFrame)
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case frame.TypeMetadataOK:
		if f.Corr != corr {
			return nil, fmt.Errorf("%w: METADATA answered with corr %d", ErrProtocol, f.Corr)
		}
		var m frame.Metadata
		if err := frame.DecodeMetadataOK(f.Body, &m); err != nil {
			return nil, fmt.Errorf("%w: bad METADATA_OK: %w", ErrProtocol, err)
		}
		cn.table = newTable(&m, addr)
		return rest, nil
	case frame.TypeError:
		code, msg, err := frame.DecodeError(f.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: bad ERROR frame: %w", ErrProtocol, err)
		}
		switch code {
		case frame.CodeBadRequest:
			c.noMeta.Store(true)
			cn.table = table{single: addr}
			return rest, nil
		case frame.CodeUnknownType:
			c.noMeta.Store(true)
			c.log.Info("swarmmq client: the node does not answer METADATA; serving it as a single node", "addr", addr)
			return nil, errNoMetadata
		}
		return nil, serverError(code, msg)
	}
	return nil, fmt.Errorf("%w: METADATA answered by %s", ErrProtocol, f.Type)
}

// notLeaderError handles ERROR NOT_LEADER answering corr: a request that
// may be sent again is parked for the partition's new leader, and it
// reports true; otherwise it reports false, and the request fails.
func (c *Client) notLeaderError(corr uint64) bool {
	c.mu.Lock()
	cl, ok := c.mu.pending[corr]
	if !ok || !cl.resend || cl.abandoned {
		c.mu.Unlock()
		return false
	}
	c.rerouteLocked(cl)
	c.mu.Unlock()
	c.kick()
	return true
}
