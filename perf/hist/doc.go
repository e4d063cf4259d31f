// Package hist is a log-bucketed latency histogram in the manner of HDR
// histograms: fixed memory, mergeable, and within 1% of the exact
// percentile for every value from 1 µs to 60 s.
//
// # Place in the system
//
// The load generator (package perf) records one latency per message into a
// Histogram owned by one producer or consumer, merges the histograms of a
// step at its end, and reports percentiles. Nothing on the node's data path
// uses it.
//
// # Layout
//
// Values are nanoseconds. Below 128 ns every value has its own bucket; from
// there each power of two [2^m, 2^(m+1)) is split into 128 equal buckets of
// width 2^(m-7):
//
//	index:  0 … 127 | 128 … 255 | 256 … 383 | … | 3712 … 3839
//	value:  0 … 127 | 128 … 255 | 256 … 510 | … | 2^35 … 2^36-2^28 (≈ 34 s … 68 s)
//	width:  1       | 1         | 2         | … | 2^28
//
// A bucket's width is at most 1/128 of its lower bound, and Quantile reports
// the bucket's midpoint, so the reported value is within 1/256 (0.4%) of
// the recorded one. Values above Max (60 s) are counted at Max and also in
// Overflow; the exact minimum and maximum are kept aside. The counts are a
// fixed array of 3,840 uint64 (30 KiB): recording never allocates.
//
// # Goroutines and concurrency
//
// None: a Histogram is a plain value, not safe for concurrent use. Give each
// goroutine its own and Merge them, or guard one with a mutex.
package hist
