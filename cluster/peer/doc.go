// Package peer is the node-to-node transport of a SwarmMQ cluster: one
// persistent link per pair of nodes, carrying raft messages (one-way, Send)
// and forwarded client requests (request/response, Call). It is a library:
// the node assembly wires it to the raft engine and the router.
//
// # Links
//
// Of two nodes, the one with the lower id (byte-wise string order) dials;
// the other only accepts. One TCP connection per pair, used both ways, so
// there is never a duplicate to resolve; the price is that after the higher
// node restarts, the link comes back at the lower node's next dial (within
// BackoffMax, 1 s by default). A dialling node redials at once after a
// link that lived, else after a backoff doubling from BackoffMin to
// BackoffMax, of which a random half is kept (jitter).
//
// A link starts with PEER_HELLO (dialler: cluster name, its id, the id it
// meant to reach, partition count, max frame) answered by PEER_HELLO_OK
// (the same of the accepting node), or by ERROR PEER_REFUSED with the
// reason, logged on both sides: another cluster name or partition count, an
// id that is unknown, this node's own, one that should not dial here, or
// one whose link is up and alive (a second process with the same id), or
// an answer from another node than the one dialled. With Options.TLS, TLS
// 1.3 runs underneath with certificates on both sides, verified against the
// peers' CA.
//
// # Wire format
//
// The client protocol's framing (package frame, docs/protocol.md):
//
//	+--------+---------+------+-------+--------------+----------------+
//	| length | version | type | flags | correlation  | body           |
//	| u32    | u8 = 1  | u8   | u16   | u64          | length - 12    |
//	+--------+---------+------+-------+--------------+----------------+
//
// with the node-to-node types PEER_HELLO (64), PEER_HELLO_OK (65), RAFT
// (66), REQUEST (67) and RESPONSE (68), plus ERROR, PING and PONG. RAFT,
// REQUEST and RESPONSE bodies are opaque to this package.
//
// # Goroutines, stopping and concurrency
//
// Start runs an accept goroutine, a dial goroutine per peer this node
// dials, a handshake-and-reader goroutine per accepted connection, and a
// writer goroutine per established connection (all through graph.Group).
// The reader calls the Handler for each frame; the writer drains the
// link's queue (bounded by QueueBytes) into one write, and sends a PING
// after Heartbeat without writing. A link that receives nothing for
// IdleTimeout is closed and redialled. Close closes the listener and every
// connection and waits for every goroutine. Transport is safe for
// concurrent use; Send never blocks: a frame that does not fit, or finds
// the link down, is dropped and counted (raft retransmits).
//
// Metrics, each with the label peer="<id>": swarmmq_peer_sent_bytes_total,
// swarmmq_peer_sent_frames_total, swarmmq_peer_received_bytes_total,
// swarmmq_peer_received_frames_total, swarmmq_peer_dropped_frames_total,
// swarmmq_peer_reconnects_total, swarmmq_peer_last_contact_seconds,
// swarmmq_peer_connected, swarmmq_peer_queued_bytes; and
// swarmmq_peer_handshakes_refused_total. A metrics.Set holds the metrics of
// one Transport: a restarted transport needs a new set.
package peer
