// Package persist is the stage that makes requests durable: it turns a
// drain of its ring into one wal.Append (one Pebble batch, one fsync for
// all of it: group commit) and hands the requests on to fanout only once
// the sync that covers them has returned.
//
// Two goroutines form a two-step pipeline so the disk is never idle:
//
//	persist: pop batch ─► encode records ─► wal.Append ─┐ (next batch starts
//	sync:                   Pending.Wait ◄──────────────┘  while this syncs)
//	                        └─► fanout[partition % n], in log order
//
// Requests that change the log (PUBLISH with open messages, ACK, and the
// GroupCreate/DeadLetter records fanout feeds back) get a record and a log
// index; the others pass through in order. A failed append or sync sets
// Request.Err on every request of the batch: fanout then answers STORAGE and
// applies nothing, so nothing is acknowledged that was not stored.
//
// While wal.Log.DiskFull reports the disk nearly full (checked once per
// drain, one atomic load), a PUBLISH with open messages is not written:
// its Request.Err is that error (wrapping wal.ErrDiskFull), fanout answers
// its messages DISK_FULL, and swarmmq_persist_disk_full_total counts it.
// ACKs and the GroupCreate/DeadLetter records are still written: they are
// small, and acks let messages be dropped and their space reclaimed.
package persist
