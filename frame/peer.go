package frame

import "encoding/binary"

// Node-to-node frames. A link between two nodes of a cluster uses the same
// header and length rules as a client connection, with types of its own,
// numbered from 64 so that they can never be mistaken for client types
// (1–15, and those added later below 64). A peer link accepts these and
// ERROR, PING and PONG; a client connection accepts none of them ([Decode]
// answers UNKNOWN_TYPE).
//
//	PEER_HELLO     cluster str | node_id str | to_id str | partitions u32 | max_frame u32
//	PEER_HELLO_OK  cluster str | node_id str | partitions u32 | max_frame u32
//	RAFT           payload (the rest of the body, opaque here)
//	REQUEST        payload (opaque here); corr is the request id
//	RESPONSE       payload (opaque here); corr is the request's id
//
// An ERROR with a request's correlation id fails that request; an ERROR with
// correlation id 0 concerns the link (a refused handshake: PEER_REFUSED).
const (
	TypePeerHello   Type = 64 // dialling node → accepting node: opens a link
	TypePeerHelloOK Type = 65 // accepting node → dialling node: accepts it
	TypeRaft        Type = 66 // either way: one raft message, no answer
	TypeRequest     Type = 67 // either way: a request answered by RESPONSE or ERROR
	TypeResponse    Type = 68 // either way: answers REQUEST
)

// peerTypeNames is a lookup table indexed by Type - TypePeerHello.
var peerTypeNames = [...]string{
	0:                               "PEER_HELLO",
	TypePeerHelloOK - TypePeerHello: "PEER_HELLO_OK",
	TypeRaft - TypePeerHello:        "RAFT",
	TypeRequest - TypePeerHello:     "REQUEST",
	TypeResponse - TypePeerHello:    "RESPONSE",
}

// validPeer reports whether t is a node-to-node type.
func (t Type) validPeer() bool {
	return t >= TypePeerHello && t <= TypeResponse
}

// validOn reports whether t may arrive on a client connection (peer false)
// or on a node-to-node link (peer true).
func (t Type) validOn(peer bool) bool {
	if !peer {
		return t.valid()
	}
	return t.validPeer() || t == TypeError || t == TypePing || t == TypePong
}

// DecodePeer is [Decode] for node-to-node links: the same checks in the
// same order, but the valid types are the node-to-node types plus ERROR,
// PING and PONG; any other type fails with CodeUnknownType.
func DecodePeer(b []byte, maxFrame int) (f Frame, n int, err error) {
	return decode(b, maxFrame, true)
}

// PeerHello is the body of PEER_HELLO, the first frame of a node-to-node
// link, sent by the dialling node. A decoded PeerHello is a view into its
// body and safe for concurrent reads.
type PeerHello struct {
	// Cluster is the dialling node's cluster name.
	Cluster []byte
	// NodeID is the dialling node's id.
	NodeID []byte
	// To is the id of the node the dialling node meant to reach.
	To []byte
	// Partitions is the dialling node's partition count.
	Partitions uint32
	// MaxFrame is the largest whole frame the dialling node accepts.
	MaxFrame uint32
}

// PeerHelloOK is the body of PEER_HELLO_OK, the accepting node's answer. A
// decoded PeerHelloOK is a view into its body and safe for concurrent reads.
type PeerHelloOK struct {
	// Cluster is the accepting node's cluster name.
	Cluster []byte
	// NodeID is the accepting node's id.
	NodeID []byte
	// Partitions is the accepting node's partition count.
	Partitions uint32
	// MaxFrame is the largest whole frame the accepting node accepts.
	MaxFrame uint32
}

// AppendPeerHello appends a whole PEER_HELLO frame.
func AppendPeerHello(dst []byte, corr uint64, h PeerHello) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypePeerHello, corr)
	dst = appendStr(dst, h.Cluster)
	dst = appendStr(dst, h.NodeID)
	dst = appendStr(dst, h.To)
	dst = binary.BigEndian.AppendUint32(dst, h.Partitions)
	dst = binary.BigEndian.AppendUint32(dst, h.MaxFrame)
	PatchLength(dst, start)
	return dst
}

// DecodePeerHello decodes a PEER_HELLO body. The strings are views into
// body, valid as long as body is not modified or reused. Errors have
// CodeMalformed.
func DecodePeerHello(body []byte) (PeerHello, error) {
	r := reader{b: body}
	h := PeerHello{Cluster: r.str(), NodeID: r.str(), To: r.str(), Partitions: r.u32(), MaxFrame: r.u32()}
	if err := r.end(); err != nil {
		return PeerHello{}, err
	}
	return h, nil
}

// AppendPeerHelloOK appends a whole PEER_HELLO_OK frame; corr is the
// PEER_HELLO's.
func AppendPeerHelloOK(dst []byte, corr uint64, h PeerHelloOK) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypePeerHelloOK, corr)
	dst = appendStr(dst, h.Cluster)
	dst = appendStr(dst, h.NodeID)
	dst = binary.BigEndian.AppendUint32(dst, h.Partitions)
	dst = binary.BigEndian.AppendUint32(dst, h.MaxFrame)
	PatchLength(dst, start)
	return dst
}

// DecodePeerHelloOK decodes a PEER_HELLO_OK body. The strings are views
// into body, valid as long as body is not modified or reused. Errors have
// CodeMalformed.
func DecodePeerHelloOK(body []byte) (PeerHelloOK, error) {
	r := reader{b: body}
	h := PeerHelloOK{Cluster: r.str(), NodeID: r.str(), Partitions: r.u32(), MaxFrame: r.u32()}
	if err := r.end(); err != nil {
		return PeerHelloOK{}, err
	}
	return h, nil
}

// AppendPeerFrame appends a whole frame of type t (RAFT, REQUEST or
// RESPONSE) whose body is payload. It does not check t: a receiver refuses
// a type it does not accept.
func AppendPeerFrame(dst []byte, t Type, corr uint64, payload []byte) []byte {
	start := len(dst)
	dst = appendHeader(dst, t, corr)
	dst = append(dst, payload...)
	PatchLength(dst, start)
	return dst
}
