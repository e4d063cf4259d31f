// Package clienttest is a fake SwarmMQ node for testing clients: a TCP
// server on 127.0.0.1 that speaks protocol v1 (package frame) over an
// in-memory broker, with hooks to intercept frames, refuse handshakes,
// reject messages and drop connections.
//
// The broker keeps per destination an ordered log of raw messages
// (seqs 1, 2, 3, …), deduplicates message ids for the server's lifetime
// (a duplicate gets its original seq and the duplicate flag), and per group
// a cursor, the deliveries in flight with their attempt counts, and the
// nacked seqs to deliver first. FETCH long-polls: it is parked until a
// PUBLISH or NACK on its destination or until its wait runs out. It does
// not simulate ack timeouts, nack delays or limits; a test dead-letters a
// message by hand (Server.DeadLetter) and alters a stored one with
// Server.Update. With Options.Reject set to VerifySealed(keyring), it
// checks sealed payloads as a node's verify stage does.
//
// A Server answers METADATA as a single node (it leads every partition),
// or, with Options.NoMetadata, as a node from before METADATA (ERROR
// UNKNOWN_TYPE, then close). StartCluster starts several Servers over one
// broker, as a cluster's nodes share the replicated state: each partition
// has a leader (Cluster.SetLeader moves it, -1 for none, and bumps the
// epoch), the other nodes answer its requests NOT_LEADER, and a leader
// that loses a partition answers the fetches parked on it NOT_LEADER.
// With Options.NodeKeys the nodes refuse each other's producer sessions,
// as nodes without a shared producer key do.
//
// # Goroutines and stopping
//
// A Server owns an accept goroutine, one goroutine per connection, and the
// timers of parked fetches. Close stops them all and waits. A Server is
// safe for concurrent use; so is a Conn.
//
// # Wire
//
// Frames are package frame's. Replies to the frames of one read are
// written together:
//
//	client ──HELLO──► server ──HELLO_OK──► client
//	client ──PUBLISH, FETCH, ACK, NACK, PING, PRODUCER, METADATA…──► server (Options.Intercept first)
//	server ──PUBLISH_ACK, MESSAGES, ACK_OK, NACK_OK, PONG, PRODUCER_OK, METADATA_OK, ERROR──► client
package clienttest
