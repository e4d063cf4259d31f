// Package swarm connects the load generator (package perf) to SwarmMQ:
// through the Go client to a running node, or to a node it starts in
// process (stages.New) on a temporary directory with a chosen fsync policy.
//
// How the workloads map onto the client:
//
//	publish            Client.NewPublisher(dest, {Window, MaxBatch}), then Publish with a done callback:
//	                   batches fill while the previous frame is on the wire; every ack is a PUBLISH_ACK
//	publish-sync       Client.Publish(dest, payload): one message per frame, one in flight
//	consume            Fetch(batch) → Ack(seqs) on its own goroutine, at most AckWindow acks unconfirmed,
//	                   then fetch again without waiting
//	consume-confirmed  Fetch(batch) → Ack(seqs), which returns on ACK_OK (the ack is durable) → fetch
//	e2e                publish and consume as above, at once
//
// A consumer runs Fetches of these fetch loops at once on its connection,
// so that many fetches are in flight (nats.go's Consume pipelines its pull
// requests the same way).
//
// Every producer and consumer has its own Client, so its own connection.
//
// # Goroutines, stopping and concurrency
//
// A Target owns the embedded node (its goroutines are the node's) and the
// Clients it opened; Close closes them and stops the node. A consumer's
// unconfirmed acks run on goroutines its Close waits for. Target is safe
// for concurrent use; a producer or consumer is used by one goroutine
// (callbacks arrive on the client's).
package swarm
