// Package promtext adds the metadata of the Prometheus text exposition
// format to what VictoriaMetrics/metrics writes: before the samples of each
// metric family, a "# HELP" line with its description and a "# TYPE" line
// with its type, both taken from one table (families.go for the node's own
// families, runtime.go for the Go runtime and process families the library
// adds). The node's /metrics handler passes everything it exposes through
// Write.
//
// The library can write TYPE lines itself (metrics.ExposeMetadata), but the
// switch is global to the process and its HELP lines are empty; a table in
// one place, checked by test/e2e against a running node, keeps every family
// described and typed.
//
// Input and output, one family (samples in the order the library wrote
// them; a family's samples are brought together if they were apart):
//
//	in:  swarmmq_wal_sync_seconds_bucket{le="1e-05"} 0
//	     …
//	     swarmmq_wal_sync_seconds_bucket{le="+Inf"} 7
//	     swarmmq_wal_sync_seconds_sum 0.0021
//	     swarmmq_wal_sync_seconds_count 7
//	out: # HELP swarmmq_wal_sync_seconds Duration of each fsync of a WAL file.
//	     # TYPE swarmmq_wal_sync_seconds histogram
//	     (the samples, unchanged)
//
// A family missing from the table is written as "untyped" with a HELP text
// that says so; the test of the node fails on it.
//
// It is a pure library: no goroutines, no state but the read-only table, so
// it is safe for concurrent use. It imports only the standard library, so
// any package may use it.
package promtext
