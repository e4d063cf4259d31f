// Package cluster is SwarmMQ's fault-testing harness: it starts real node
// processes on loopback, injects faults into them (kill -9, SIGSTOP and
// SIGCONT, a clean restart, a restart with the data directory wiped) while
// a workload of producers and consumer groups runs through the Go client,
// records every publish acknowledgement and every delivery, and checks the
// history afterwards.
//
// # Pieces
//
//   - Cluster and Node (node.go): the node binary is built once per test
//     binary (or taken from SWARMMQ_NODE_BIN); each Node has its own data
//     directory, client port, HTTP port, log file and extra flags, and runs
//     in its own process group so that a signal reaches everything it
//     started. Every process is killed on every exit path of the test
//     (t.Cleanup, and the kernel's parent-death signal if the test binary
//     itself dies). The run directory is removed when the test passes and
//     kept, with its path logged, when it fails.
//   - Clusters (topology.go, leaders.go, cluster_faults.go): with
//     Options.Cluster the nodes are one cluster; each node gets a config
//     file in which every other node's peer address is a netproxy of the
//     harness, one per directed link, so that Cut, Isolate, Delay and Heal
//     act on chosen links. LeaderOf and FollowerOf read /health
//     (partitions_led) and placement; InjectCluster aims kill -9, pauses,
//     isolation, link cuts, restarts and wipes at a destination's leader or
//     follower.
//   - Workload (workload.go): producers, each a Client with its own
//     producer session, publish payloads that start with a producer-unique
//     id, producer i to destination i mod len(Dests); one consumer per
//     group and destination fetches, records each delivery, acks and
//     records whether ACK_OK came. Errors are recorded with their time,
//     never fatal. Until the client follows partition leaders, workers
//     route by hand (locate.go: a Locator polling /health).
//   - Recorder and History (history.go): what happened, per worker in order.
//   - Check and Report (checker.go): a pure function of a History.
//
// # What the checker must find
//
//	acknowledged publish lost        acked, and some group never received it (after the final drain)
//	delivered after confirmed ack    a FETCH sent after the group's ACK_OK of the same payload brought it
//	stored twice                     one payload id at two seqs of one destination
//	seq conflict                     one seq of one destination with two payload ids
//	unknown payload                  a delivery no producer published
//
// A delivery seen again before its ack was confirmed is at-least-once and
// allowed. Order inversions of first deliveries, errors surfaced to the
// application and the publish outage after each fault are measured and
// reported, not judged.
//
// # Goroutines
//
// A Node owns one goroutine per running process (waiting for its exit);
// each link's netproxy owns its goroutines until the cluster's cleanup
// closes it; a Locator owns one polling goroutine until Stop;
// Workload.Start starts its producer and consumer goroutines and Stop
// waits for them. Recorder is safe for concurrent use; the rest is driven by
// the test goroutine.
package cluster
