// Package soak holds long, opt-in runs against a real node process that
// measure what unit tests must not assert with a clock: memory (RSS peak),
// throughput and admin-endpoint latency under hostile client load.
//
// Nothing here runs in `make test`: every test skips unless the
// SWARMMQ_SOAK_NODE environment variable names a node binary. `make
// soak-memory` builds bin/node and runs TestSoakMemory; docs/perf.md holds
// its figures and commands.
//
// The runs start one node process (bin/node on 127.0.0.1, a temporary data
// directory) and drive it from goroutines of the test process — a
// well-behaved producer and consumer using the client library, a /health
// prober and an RSS sampler reading /proc/<pid>/status — and from a child
// process: hostile raw clients speaking frames, dialing from addresses of
// their own (127.0.<phase>.2 for publishers, .3 for fetchers) so that the
// node's per-address penalty after FLOW_CONTROL tells them apart from the
// pair on 127.0.0.1, and a penalty earned in one phase does not keep the
// next phase's clients out. Each goroutine stops with its phase's context and is
// waited for before the next phase.
package soak
