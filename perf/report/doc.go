// Package report merges the result files of many swarmbench and natsbench
// runs into the comparison published in docs/perf: every run in
// results.json and results.csv, the medians per workload and durability
// with SwarmMQ/NATS ratios in README.md, and the open-loop curves drawn in
// curves.svg (hand-written SVG, no plotting dependency).
//
// Everything it writes is computed from the files it reads: it measures
// nothing and adds no figure of its own.
//
// # Goroutines and concurrency
//
// None: Write runs on the caller's goroutine; the types are plain values.
package report
