// Package client is the Go client of SwarmMQ: it publishes messages to
// destinations and consumes them in groups over protocol v1 (package frame,
// docs/protocol.md).
//
// # Usage
//
//	c, err := client.Dial(ctx, client.Options{Addr: "localhost:9001"})
//	if err != nil { … }
//	defer c.Close() // or, to shut down gracefully: c.Drain(ctx)
//
//	// Synchronous: returns once every message is stored durably.
//	res, err := c.Publish(ctx, "test-queue", []byte("Hello SwarmMQ"))
//
//	// Asynchronous and batched: the throughput path.
//	p, err := c.NewPublisher("test-queue", client.PublisherOptions{Window: 1000})
//	for _, m := range msgs {
//		if err := p.Publish(ctx, m, func(r client.PublishResult) { … }); err != nil { … }
//	}
//	err = p.Close(ctx) // flushes; reports failed messages that had no callback
//
//	// Or a future per message.
//	f, err := p.PublishAsync(ctx, m)
//	r, err := f.Wait(ctx)
//
//	// Headers (trace context, content type, …) travel with the message.
//	_, err = c.PublishMsgs(ctx, "test-queue", client.Message{Payload: body,
//		Headers: client.Headers{"traceparent": {tp}, "content-type": {"application/json"}}})
//
//	// Consuming: fetch (long poll), process, then a confirmed ack.
//	ds, err := c.Fetch(ctx, "test-queue", "default", 100, 5*time.Second)
//	for _, d := range ds {
//		… process d …
//		err = d.Ack(ctx) // or d.Nak(ctx, delay), d.Term(ctx, reason)
//	}
//
// Consume wraps the fetch → process → settle loop; it fetches on while up
// to ConsumeOptions.AckWindow handled batches wait for their ack's fsync.
// Its handler settles each delivery itself when it must (Ack, Nak with a
// delay, Term with a reason, InProgress for long work) and the rest of
// the batch by its return value, so one bad message is retried or
// dead-lettered alone.
//
// Message.Headers are stored and delivered with the message
// (Delivery.Headers), authenticated with a sealed payload but never
// encrypted; keys keep their case and may repeat (see Headers for the
// rules and docs/protocol.md §6 for the wire form). A message without
// headers is sent byte for byte as before headers existed.
//
// Errors carry the server's wire code where there is one: ErrorCode and
// IsCode read it, and the codes an application checks (CodeNotLeader,
// CodeDestinationFull, …) are exported here.
//
// # A long-running service
//
// A Client is meant to live as long as the process. Dial waits, trying
// every seed with backoff, until a node answers or its ctx ends (a node
// that answers but refuses, or is not a SwarmMQ port, fails it at once).
// After that the Client never gives up by default: a lost connection is
// redialled with capped exponential backoff and jitter for as long as it
// takes (Options.MaxReconnects sets a bound), while each request waits
// within its own timeout, so a node that is away for minutes costs the
// requests of those minutes, never the Client. Options.OnConnState is
// told of every connection made, lost (with why) and made again, and of
// the end (StateClosed), on a goroutine of its own.
//
// Shutting down: Client.Flush waits until every Publisher's messages are
// acknowledged or failed; Client.Drain stops every Consume loop from
// fetching, lets it handle and settle the batch it holds, flushes the
// publishers and closes; CloseContext flushes within a deadline and
// closes; Close closes at once.
//
// Observability: Client.Stats returns counters (sent, acked, failed,
// duplicates, retried, reconnects, in-flight messages and bytes,
// delivered, settled), kept with atomics only, so reading them costs the
// publish path nothing. Options.Hooks takes values implementing any of
// HookPublish, HookPublishAck, HookFetch, HookSettle, HookConnect and
// HookDisconnect: the seam for a Prometheus or OpenTelemetry adapter
// (HookPublish can put the trace context into each message's headers). Hooks run on the
// goroutines named in their interfaces, never on a connection's reader.
//
// # A wrong address or the wrong transport
//
// Dial says what it reached when that is not a SwarmMQ client port of the
// kind it expected: ErrTLSRequired (a TLS port dialed without
// Options.TLS), ErrNotTLS (Options.TLS set, the port answered in
// plaintext), ErrNotSwarmMQ (an HTTP server, such as the node's admin
// address). It tells from the first bytes the server sent (an HTTP status
// line, a TLS record); when the server sent none, by one more connection
// after the failure: a TLS handshake if the server closed at once (Go's
// TLS servers close a plaintext client silently), an HTTP request if it
// let the handshake time out (an HTTP server waits for a request line).
// Likewise a message refused with AUTH_FAILED by a node that requires
// sealing, from a Client without a keyring, says so.
//
// # Place in the system
//
// The client sits at the far end of a node's pipeline: its frames go to
// netio → decode → verify → … → ack, whose replies come back on the same
// connection. It imports frame, route, seal and the standard library only.
//
// # Goroutines, stopping and concurrency
//
// A Client is safe for concurrent use and owns a router goroutine, which
// follows leadership, reconnects and times out requests (routing.go), a
// short-lived goroutine per connection attempt, an event goroutine when
// Options.OnConnState or a connection hook is set (state.go; it ends
// after delivering StateClosed), and per connection a
// reader, which dispatches replies to their requests by correlation id,
// and a writer, which writes every queued request into one buffer and
// flushes when the queue is empty (so requests coalesce into few system
// calls under load). Close fails what is outstanding with ErrClosed,
// stops them all and waits for them. A Publisher is safe for concurrent
// use; its done callbacks run one at a time, in publish order, on a
// goroutine of their own that runs only while callbacks are queued,
// after the window slots of their messages were freed: a callback may
// publish again or call the Client. Callbacks are bounded: while a whole
// Window of results waits for a slow callback, Publish waits too
// (backpressure; nothing is dropped), except a Publish made by a callback
// itself, which would otherwise wait for itself (the Client knows its
// callback goroutines by id: callbacks.go).
//
// Flow control: HELLO asks for Options.Credits outstanding requests; the
// server's grant bounds the requests in flight (a semaphore: further ones
// wait for a reply). A Publisher's Window bounds its unacknowledged
// messages on top. HELLO also asks the node for the limits it enforces
// (largest message, long-poll cap, ack timeout, max deliver, idle timeout,
// …): Client.Limits returns them.
//
// # Message ids, producer sessions and the wire
//
// Every message gets a 128-bit id drawn from a CSPRNG (ChaCha8 seeded from
// crypto/rand): unique across producers and restarts without any
// coordination, and unpredictable, so nobody who has seen some ids can
// guess the next. On its first connection the Client opens a producer
// session (PRODUCER): the node issues a producer id and a token; the
// Client stamps the id on its messages, marks its PUBLISH frames with
// frame.FlagSession, and resumes the same session on every reconnect (also
// after a node restart). The node deduplicates a session's messages
// against that session's only, so no other client can make them look like
// duplicates, and it remembers at least the session's newest Window
// messages per partition (the Window the node grants, 8192 by default):
// the Client keeps at most that many unacknowledged, over all its
// Publishers and Publish calls, so every retry it makes is recognised
// however much other traffic the node stored in between.
// PublishWithID publishes under an application id instead, deduplicated
// per destination within the node's dedupe window (docs/protocol.md §8).
//
// Each message also carries the producer id and the publish time in unix
// nanoseconds. The message and frame layouts are package frame's: a PUBLISH frame carries a batch,
//
//	| header 16 | dest str | count u32 | message | message | … |
//
// and its PUBLISH_ACK one (code, duplicate flag, seq) per message, in order.
//
// # Sealed payloads
//
// With Options.Keyring set (load it with seal/keyfile.Read), the Client
// seals every payload with the keyring's current key before it leaves
// the process, using one seal.Sealer for its life (nonces are unique per
// Sealer; see package seal), and stamps that key's id in the message:
//
//	message | id | timestamp | producer | key_id | crc | payload_len | nonce 12 | ciphertext | tag 16 |
//	                                                                 \ sealed payload: plaintext + 28 /
//
// The seal binds the message's id, destination, producer, timestamp and
// key id, exactly as sent, so the node's verify stage (which holds the
// keyring too) rejects a payload moved to another message or destination
// (AUTH_FAILED) or sealed with a key it lacks (UNKNOWN_KEY): those come
// back in PublishResult.Err. A retry resends the same bytes, so the same
// nonce under the same header: nothing new is revealed.
//
// On Fetch each delivery is authenticated and decrypted; one that fails,
// names a key the keyring lacks, or is not sealed at all is returned with
// Delivery.Err and no payload, never as garbage, and the rest of the batch
// is unaffected. A message dead-lettered from q to q.dlq is still bound to
// q and opens when fetched from q.dlq. Without a keyring the Client
// publishes unsealed payloads (key id 0) and refuses sealed deliveries
// the same way. When the cause is the Client's own configuration (a key
// id its keyring lacks, a sealed message and no keyring, an unsealed one
// and a keyring) Delivery.Err also wraps ErrKeyringMismatch, and Consume
// gives the batch back with Release, which does not count the delivery
// attempt, and stops: a misconfigured consumer never dead-letters what a
// correctly configured one can open. docs/sealing.md has the details.
//
// # Clusters: seeds, leaders and METADATA
//
// Options.Addr is one address or a comma-separated list of seeds
// ("h1:9001,h2:9001,h3:9001"). Dial connects to the first seed that
// answers; every handshake ends with METADATA (docs/protocol.md), which
// tells which node leads each partition. The Client keeps one link per
// node it needs, made when a request first needs it: each request goes to
// the leader of its destination's partition (SHA-256 routing, package
// route), and a Publisher's batches to its destination's leader. A
// single node, or a node from before METADATA, leads every partition: one
// connection, as before clusters.
//
//	request ─► partition of dest ─► table[p] = leader address ─► link ─► conn
//	                                     ▲
//	         NOT_LEADER, lost link ─► park ─► METADATA (any live node, or the next seed) ─► send again
//
// # Reconnecting and retries
//
// A request that may be sent again is never failed by a leadership
// change or a lost connection while its timeout runs: when its node
// answers NOT_LEADER (an ERROR, or a PUBLISH_ACK entry), when the
// connection drops (or the server sends a fatal ERROR) or the leader
// cannot be dialled, the request is parked, the router asks a live node
// other than the one that refused or dropped it for METADATA (or dials the
// next seed or known node: at once, then with doubling, jittered pauses
// from ReconnectWait up to MaxReconnectWait; up to 150 ms between
// questions to a live node while a partition has no leader; a second node
// is asked when the first has not answered within 250 ms), and sends the request to the partition's leader by the newer
// table, in its original order:
//
//   - PUBLISH frames byte for byte, so with the same message ids in the
//     same (resumed) producer session: the server answers a message it
//     already stored with its original seq and PublishResult.Duplicate
//     set, never storing it twice;
//   - ACK and NACK frames, which are idempotent;
//   - FETCH frames: a long poll goes on at the new leader (the messages
//     the lost request may have delivered come back after the server's
//     ack timeout);
//   - not PING.
//
// The producer session goes with the Client: a new connection, to any
// node, resumes it (PRODUCER with its id and token), and a cluster keeps
// each partition's session state in its replicated state, so the new
// leader recognises the retries. That needs every node to accept the
// session's token (docs/protocol.md, "Sessions across nodes"). A node
// that refuses it while another node holds the session (the nodes do not
// share a producer key) gets the Client's PUBLISH frames without
// frame.FlagSession: their ids are then application ids there, no message
// fails, but a retry that moved to that node may be stored twice. A node
// that refuses it while none holds it (a single node restarted with
// another key) makes the Client open a new session.
//
// By default the Client reconnects for as long as it lives; with
// Options.MaxReconnects set, after that many failed connection attempts
// in a row while no node is reachable, every outstanding request fails
// with an error wrapping ErrConnectionLost and the Client stops
// (StateClosed; Options.NoReconnect makes the first loss final). A connection that receives nothing for 200 ms while
// requests are outstanding on it (1 s when they are all long-polling
// fetches) is sent a PING, which a node answers from its network loop; a
// PING unanswered for 300 ms (the node may be paused or cut off, and its
// connection stays open), or a request other than a long poll unanswered
// for 400 ms (an isolated leader answers PING but commits nothing), makes
// the Client ask another node for METADATA:
// if its node no longer leads the partition of one of those requests, the
// connection is dropped and its requests go to the new leader
// (discover.go). A METADATA question a node leaves unanswered for DialTimeout
// drops that connection too. A
// non-fatal server ERROR fails only the request it answers; errors print
// the operation and the server's code, for example "swarmmq: publish to
// test-queue: DESTINATION_FULL: …", and wrap the *frame.Error
// (errors.As) and the sentinels of this package (errors.Is).
//
// # What "exactly once" means here
//
// SwarmMQ promises three things, and this client upholds its side of each:
//
//   - No acknowledged publish is lost: a PublishResult without Err means
//     the message is stored durably (fsynced; on a quorum in a cluster).
//   - No duplicate is stored from retries: the client's own retries reuse
//     the message id in the same producer session, and the server
//     recognises them (see above). A message the application publishes
//     again itself, after Publish failed or timed out, gets a new id and
//     may be stored twice: only the application can know it is the same
//     message, and PublishWithID lets it say so.
//   - No redelivery after a confirmed ack: once Ack returned nil, the group
//     never sees those messages again.
//
// What remains the application's: a message it processed but whose ack
// was not confirmed (Ack failed, the process died, the ack timeout ran
// out first) is delivered again. Processing must therefore be idempotent,
// for example keyed by Delivery.ID or by (Destination, Seq).
package client
