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
//	client ──PUBLISH, FETCH, ACK, NACK, PING…──► server (Options.Intercept first)
//	server ──PUBLISH_ACK, MESSAGES, ACK_OK, NACK_OK, PONG, ERROR──► client
package clienttest
