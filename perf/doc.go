// Package perf is SwarmMQ's load generator: it runs a workload against a
// Target (SwarmMQ through package perf/swarm, NATS JetStream through the
// separate module perf/natspeer), measures throughput and latency, and
// writes the results as a table, JSON and CSV. Nothing on the node's data
// path imports it.
//
// # Workloads
//
//	publish            asynchronous, batched: up to Window messages unacknowledged per producer
//	publish-sync       one message in flight per producer
//	consume            a pre-filled stream: fetch, ack the batch without waiting (≤ AckWindow acks unconfirmed)
//	consume-confirmed  a pre-filled stream: fetch, ack, wait for the confirmation, fetch again
//	e2e                publish and consume at once; latency from the send time in the payload to receipt
//
// A consumer keeps Fetches fetches in flight (default 2).
//
// Each runs closed loop (as fast as acks allow) or open loop (Config.Rate:
// a fixed schedule), or as a curve (Config.Steps: open loop at percentages
// of the closed-loop maximum).
//
// # Measuring
//
// A payload's first 8 bytes carry its send time on the run's Clock (a
// monotonic clock shared by producers and consumers of one process).
//
//   - Closed loop with a duration: after the warmup (and at least one
//     completion, so the pipeline is full), the completions inside a window
//     of Config.Duration are counted; rate = count / duration.
//   - Closed loop with Config.Msgs: the first Msgs messages sent after the
//     warmup; rate = Msgs / (last completion − end of warmup).
//   - Open loop: a Pacer stamps each message with its intended send time
//     (start + i/rate) and sends it then, or at once if late; latency counts
//     from the intended time, so a broker that stalls the producer cannot
//     hide the queueing it causes (no coordinated omission). How late the
//     generator itself sent is reported as the generator lag.
//
// Latencies go into hist.Histogram (log-bucketed, 1 µs..60 s within 1%).
//
// # Result files
//
//	<name>.json  Report{machine, command, started, target{system, version, fsync, config, notes}, results[…]}
//	<name>.csv   one row per result and per curve step, each with the machine and the command line
//
// package perf/report merges many of them into the comparison in docs/perf.
//
// # Goroutines, stopping and concurrency
//
// Run owns the goroutines it starts (one per producer and consumer, one per
// profile grab) and waits for them before it returns; ending its context
// stops the producers and consumers. Callbacks from a Target's client
// goroutines go into mutex-guarded statistics. Config, Report and Result
// are plain values; a Pacer belongs to one goroutine.
package perf
