package rlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	nodes   map[uint64]string // node key → node id
	keys    map[string]uint64 // node id → node key
	peers   atomic.Pointer[peer.Transport]
	eng     atomic.Pointer[replica.Engine]
	reqs    atomic.Pointer[RequestHandler]
	leaders atomic.Pointer[func(Announcement)]
	incs    atomic.Pointer[Incarnations]
	self    atomic.Uint64 // this node's raft id once its incarnation is decided
	logger  *slog.Logger
	// asked collects the answers to this node's incarnation question
	// (Decide), by peer; nil when not asking.
	asked struct {
		sync.Mutex
		answers map[string]Answer
	}
	chunks    chunkSenders
	chunkID   atomic.Uint64
	assembled assembler
	staleLog  rateLog
	recordLog rateLog
	snapLog   rateLog

	sent, dropped, snaps, snapFailures, received, bad, stale *metrics.Counter
}

// NewNet returns the transport for the cluster of nodes (metrics into
// set, nil for a private one; log lines to logger, nil discards them).
func NewNet(nodes []Node, set *metrics.Set, logger *slog.Logger) *Net {
	if set == nil {
		set = metrics.NewSet()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Net{nodes: map[uint64]string{}, keys: map[string]uint64{}, logger: logger,
		assembled:    assembler{peers: map[string]*assembly{}, max: MaxAssembled},
		sent:         set.NewCounter("swarmmq_raft_messages_sent_total"),
		dropped:      set.NewCounter("swarmmq_raft_messages_dropped_total"),
		snaps:        set.NewCounter("swarmmq_raft_snapshots_sent_total"),
		snapFailures: set.NewCounter("swarmmq_raft_snapshot_send_failures_total"),
		received:     set.NewCounter("swarmmq_raft_messages_received_total"),
		bad:          set.NewCounter("swarmmq_raft_messages_refused_total"),
		stale:        set.NewCounter("swarmmq_raft_messages_stale_total"),
	}
	n.chunks.quit = make(chan struct{})
	for _, nd := range nodes {
		n.nodes[nodeKey(nd.ID)] = nd.ID
		n.keys[nd.ID] = nodeKey(nd.ID)
	}
	return n
}

// SetIncarnations sets what the Net records peers' incarnations in and
// answers their questions from; before it, messages are dropped. Call it
// before the peer transport starts.
func (n *Net) SetIncarnations(r *Incarnations) {
	n.incs.Store(r)
	if inc, ok := r.Own(); ok {
		n.self.Store(RaftID(r.Self(), inc))
	}
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
		to, ok := n.nodes[keyOf(m.Msg.GetTo())]
		if !ok || t == nil {
			n.dropped.Inc()
			continue
		}
		var err error
		buf, err = AppendMessage(buf[:0], m)
		if err == nil && len(buf) > ChunkSize {
			n.sendChunked(t, e, to, m, append([]byte(nil), buf...)) // reports the outcome itself
			continue
		}
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
			n.logSnapshot(to, m, len(buf), err)
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
// counted and dropped: it harms nothing else. A raft message addressed to
// an earlier incarnation of this node, or sent by an earlier incarnation
// of the peer, is dropped as stale (counted, logged at most every few
// seconds). A newer incarnation of the peer is recorded (synced) before
// its message is stepped.
func (n *Net) HandleFrame(from string, t frame.Type, payload []byte) {
	if t != frame.TypeRaft {
		return
	}
	switch {
	case isIncMessage(payload):
		n.incarnation(from, payload)
		return
	case IsAnnouncement(payload):
		if n.eng.Load() != nil {
			n.heard(from, payload)
		}
		return
	case isChunk(payload):
		c, err := decodeChunk(payload)
		if err == nil {
			payload, err = n.assembled.add(from, c)
		}
		if err != nil {
			n.bad.Inc()
			return
		}
		if payload == nil {
			return // more to come
		}
	}
	n.step(from, payload)
}

// step steps a raft message from peer from.
func (n *Net) step(from string, payload []byte) {
	e, r := n.eng.Load(), n.incs.Load()
	if e == nil || r == nil {
		return
	}
	m, err := DecodeMessage(payload)
	if err != nil || keyOf(m.Msg.GetFrom()) != n.keys[from] {
		n.bad.Inc()
		return
	}
	if to := m.Msg.GetTo(); to != n.self.Load() {
		n.stale.Inc()
		n.staleLog.do(func() {
			n.logger.Warn("raft message to an earlier incarnation of this node dropped", "from", from,
				"to_incarnation", IncarnationOf(to), "partition", m.Partition)
		})
		return
	}
	if !n.record(from, IncarnationOf(m.Msg.GetFrom())) {
		return
	}
	n.received.Inc()
	e.Step(m)
}

// record records that peer from runs incarnation inc (synced, if it is
// newer) and reports whether what it sent under inc may be acted on: not
// when an incarnation above inc is recorded, nor when recording fails.
func (n *Net) record(from string, inc uint16) bool {
	r := n.incs.Load()
	if cur, ok := r.Recorded(from); ok && cur > inc {
		n.stale.Inc()
		return false
	}
	newer, err := r.Record(from, inc)
	if err != nil {
		n.recordLog.do(func() { n.logger.Error("cannot record a peer's incarnation", "peer", from, "err", err) })
		return false
	}
	if newer {
		n.logger.Info("peer incarnation recorded", "peer", from, "incarnation", inc)
	}
	return true
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

// logSnapshot logs a raft snapshot sent (or not) to peer to. One larger
// than the link's frame cannot be sent (peer.ErrTooLarge): raft would
// retry it for ever, so that is an error to see at once.
func (n *Net) logSnapshot(to string, m replica.Message, size int, err error) {
	md := m.Msg.GetSnapshot().GetMetadata()
	switch {
	case errors.Is(err, peer.ErrTooLarge):
		n.snapLog.do(func() {
			n.logger.Error("raft snapshot larger than a peer frame: the replica cannot catch up; raise the peer "+
				"max frame", "peer", to, "partition", m.Partition, "index", md.GetIndex(), "bytes", size, "err", err)
		})
	case err != nil:
		n.logger.Warn("raft snapshot not sent", "peer", to, "partition", m.Partition, "index", md.GetIndex(),
			"bytes", size, "err", err)
	default:
		n.logger.Info("raft snapshot sent", "peer", to, "partition", m.Partition, "index", md.GetIndex(), "bytes", size)
	}
}
