package rlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/frame"
)

// A RAFT frame's payload is one raft message of one partition:
//
//	+------------------+----------------------------------+
//	| partition u32 BE | raftpb.Message (protobuf)         |
//	+------------------+----------------------------------+

// ErrBadMessage marks a RAFT payload that does not decode.
var ErrBadMessage = errors.New("swarmmq/rlog: bad raft message")

// AppendMessage appends m's RAFT payload to dst.
func AppendMessage(dst []byte, m replica.Message) ([]byte, error) {
	dst = binary.BigEndian.AppendUint32(dst, m.Partition)
	return proto.MarshalOptions{}.MarshalAppend(dst, m.Msg)
}

// DecodeMessage parses a RAFT payload. The message owns its bytes (the
// payload may be reused after the call). It never panics.
func DecodeMessage(b []byte) (replica.Message, error) {
	if len(b) < 4 {
		return replica.Message{}, fmt.Errorf("%w: %d bytes", ErrBadMessage, len(b))
	}
	m := replica.Message{Partition: binary.BigEndian.Uint32(b), Msg: &pb.Message{}}
	if err := proto.Unmarshal(b[4:], m.Msg); err != nil {
		return replica.Message{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return m, nil
}

// Net carries the raft engine's messages over the node's peer links
// (cluster/peer): it is the engine's replica.Transport and the peer
// transport's Handler. Make it with NewNet, hand it to peer.New as the
// Handler, then Attach the peer transport and Bind the engine; until both
// are there, messages are dropped (raft sends again). Safe for concurrent
// use.
type Net struct {
	ids     map[uint64]string // raft id → node id
	raft    map[string]uint64 // node id → raft id
	peers   atomic.Pointer[peer.Transport]
	eng     atomic.Pointer[replica.Engine]
	reqs    atomic.Pointer[RequestHandler]
	leaders atomic.Pointer[func(Announcement)]

	sent, dropped, snaps, snapFailures, received, bad *metrics.Counter
}

// NewNet returns the transport for the cluster of nodes (metrics into
// set, nil for a private one).
func NewNet(nodes []Node, set *metrics.Set) *Net {
	if set == nil {
		set = metrics.NewSet()
	}
	n := &Net{ids: map[uint64]string{}, raft: map[string]uint64{},
		sent:         set.NewCounter("swarmmq_raft_messages_sent_total"),
		dropped:      set.NewCounter("swarmmq_raft_messages_dropped_total"),
		snaps:        set.NewCounter("swarmmq_raft_snapshots_sent_total"),
		snapFailures: set.NewCounter("swarmmq_raft_snapshot_send_failures_total"),
		received:     set.NewCounter("swarmmq_raft_messages_received_total"),
		bad:          set.NewCounter("swarmmq_raft_messages_refused_total"),
	}
	for _, nd := range nodes {
		n.ids[RaftID(nd.ID)] = nd.ID
		n.raft[nd.ID] = RaftID(nd.ID)
	}
	return n
}

// Attach sets the peer transport messages go out on.
func (n *Net) Attach(t *peer.Transport) { n.peers.Store(t) }

// Bind sets the engine received messages go to, and that hears of
// unreachable peers and snapshot outcomes.
func (n *Net) Bind(e *replica.Engine) { n.eng.Store(e) }

// Send queues each message on its peer's link. A message that cannot be
// queued (link down, queue full) is reported unreachable to raft, which
// then probes the follower gently instead of streaming to it. A snapshot's
// outcome is reported once it is queued or refused: queued is taken as
// sent (if it is lost on the way, the follower never acknowledges it and
// raft sends it again after its probe).
func (n *Net) Send(msgs []replica.Message) {
	t, e := n.peers.Load(), n.eng.Load()
	var buf []byte
	for _, m := range msgs {
		to, ok := n.ids[m.Msg.GetTo()]
		if !ok || t == nil {
			n.dropped.Inc()
			continue
		}
		var err error
		buf, err = AppendMessage(buf[:0], m)
		if err == nil {
			err = t.Send(to, frame.TypeRaft, buf) // copies buf
		}
		snap := m.Msg.GetType() == pb.MessageType_MsgSnap
		if err != nil {
			n.dropped.Inc()
		} else {
			n.sent.Inc()
		}
		if snap {
			n.snaps.Inc()
			if err != nil {
				n.snapFailures.Inc()
			}
		}
		if e == nil {
			continue
		}
		if err != nil {
			e.ReportUnreachable(m.Partition, m.Msg.GetTo())
		}
		if snap {
			e.ReportSnapshot(m.Partition, m.Msg.GetTo(), err != nil)
		}
	}
}

// HandleFrame steps a RAFT frame from peer from into the engine. A frame
// that does not decode, or whose sender is not the linked peer, is
// counted and dropped: it harms nothing else.
func (n *Net) HandleFrame(from string, t frame.Type, payload []byte) {
	e := n.eng.Load()
	if t != frame.TypeRaft || e == nil {
		return
	}
	if IsAnnouncement(payload) {
		n.heard(from, payload)
		return
	}
	m, err := DecodeMessage(payload)
	if err != nil || m.Msg.GetFrom() != n.raft[from] {
		n.bad.Inc()
		return
	}
	n.received.Inc()
	e.Step(m)
}

// OnLeader sets what receives the leader announcements of peers
// (Log.LearnLeader).
func (n *Net) OnLeader(h func(Announcement)) { n.leaders.Store(&h) }

// Announce tells every peer that a.Leader (this node) leads a.Partition.
func (n *Net) Announce(a Announcement) { n.announce(a) }

// RequestHandler serves a REQUEST from a peer (forwarded client requests:
// cluster/forward's Server.Handle).
type RequestHandler func(from string, payload []byte, r peer.Responder)

// ServeRequests sets the handler of the REQUESTs peers send.
func (n *Net) ServeRequests(h RequestHandler) { n.reqs.Store(&h) }

// HandleRequest hands a REQUEST to the handler ServeRequests set; without
// one it is refused NOT_LEADER (the client then asks the leader itself).
func (n *Net) HandleRequest(from string, payload []byte, r peer.Responder) {
	if h := n.reqs.Load(); h != nil {
		(*h)(from, payload, r)
		return
	}
	_ = r.Fail(frame.CodeNotLeader, "this node does not take forwarded requests: ask the partition's leader")
}
