// Package natspeer connects the load generator (package perf of SwarmMQ)
// to NATS JetStream, the peer SwarmMQ is measured against: an embedded
// nats-server (v2.15) with JetStream file storage in a temporary
// directory, driven through nats.go's jetstream API. It is a module of its
// own so that NATS never enters the node's dependencies.
//
// Durability follows perf.Config.Fsync: "always" writes
// `sync_interval: always` into the server's configuration (an fsync per
// message written), "interval" leaves JetStream's default (a sync every
// 2 minutes).
//
// How the workloads map onto the API (every producer and consumer has its
// own connection; streams are file-backed, R1, limits retention; consumers
// are durable pull consumers with explicit acks):
//
//	publish            JetStream.PublishAsync, at most Window pending (PublishAsyncMaxPending), acks through
//	                   the async ack handler; no Nats-Msg-Id header, so no dedupe work (SwarmMQ always dedupes)
//	publish-sync       JetStream.Publish: one request/reply per message
//	consume            Consumer.Consume with PullMaxMessages(batch) (continuous pull with prefetch), Msg.Ack
//	                   per message (fire and forget): what `nats bench js consume` does
//	consume-confirmed  Consumer.Fetch(batch), then Msg.DoubleAck of every message of the batch at once
//	                   (explicit acks have no batch confirmation), all awaited before the next Fetch
//	e2e                publish and consume as above, at once
//
// # Goroutines, stopping and concurrency
//
// A Target owns the embedded server and the connections it opened; Close
// closes them, shuts the server down and removes its temporary directory.
// A confirmed consumer's double acks run on goroutines it waits for before
// the next fetch. Target is safe for concurrent use.
package natspeer
