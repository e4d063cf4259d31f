// Package persist is the local partition log (package plog), the one a
// single node runs (R=1): it turns a drain of its ring of proposals into
// one wal.Append (one Pebble batch, one fsync for all of it: group commit)
// and hands the outcomes on to the fanout workers only once the sync that
// covers them has returned: an entry is committed when it is durable here.
//
// Two goroutines form a two-step pipeline so the disk is never idle:
//
//	persist: pop batch ─► encode records ─► wal.Append ─┐ (next batch starts
//	sync:                   Pending.Wait ◄──────────────┘  while this syncs)
//	                        └─► fanout worker of the partition (owner.Table), in log order
//
// A proposal with a record gets a log index and comes out Committed; the
// others come out in order as they are: Unwritten (no record asked for,
// or a PUBLISH whose client had gone: not written, so nobody is promised
// anything), or Failed. A failed append or sync fails every proposal of
// the batch that was to be written: fanout then answers STORAGE and
// applies nothing, so nothing is acknowledged that was not stored. A
// proposal for a partition the owner table says this node does not lead
// fails with plog.ErrNotLeader.
//
// While wal.Log.DiskFull reports the disk nearly full (checked once per
// drain, one atomic load), a proposal of new messages is not written: it
// fails with that error (wrapping wal.ErrDiskFull), fanout answers its
// messages DISK_FULL, and swarmmq_persist_disk_full_total counts it.
// ACKs and the GroupCreate/DeadLetter records are still written: they are
// small, and acks let messages be dropped and their space reclaimed.
package persist
