// Package wal is the durable log of every partition of a node: an ordered
// sequence of opaque records (encoded by package queue) per partition, kept
// in one Pebble v2 database, with group commit.
//
// # Role in the pipeline
//
// The persist stage drains its ring and calls Append once per drain with the
// records of many partitions: they become one Pebble batch, written to
// Pebble's WAL and covered by one fsync. Append returns before the fsync; the
// stage may build and append the next batch before calling Wait on the
// previous Pending, so that its work overlaps the fsync. Acks are sent only
// once Wait returns nil. At start, each partition's state is rebuilt from
// LoadSnapshot and Replay; SaveSnapshot stores a state and trims the log
// prefix it covers. In the cluster the same log becomes the raft log.
//
// # Durability
//
// Under SyncAlways (the default), Wait returns nil only after the fsync of
// the WAL that covers the batch: an acknowledged append survives a crash or
// power failure. Under SyncInterval, Wait returns once the batch is applied
// and a goroutine fsyncs the WAL every Options.SyncInterval: a power failure
// can lose the appends of the last interval, a process crash the last few
// batches, still in the user-space buffer of Pebble's WAL writer. A disk
// error shows at the next interval sync, which fails the Log; the appends
// acknowledged since the last good sync may then be lost, as on a power
// failure.
//
// # Disk errors
//
// A write or fsync error of the WAL never turns into a successful Wait. What
// Pebble v2.1.7 does, and what the Log makes of it:
//
//   - Pebble's WAL writer keeps the first write or sync error forever and
//     hands it to every batch waiting for a sync then and later. The Log
//     applies batches with DB.ApplyNoSyncWait and waits with Batch.SyncWait,
//     which return that error (DB.Apply with Sync would instead call
//     Logger.Fatalf). Wait returns it, marked ErrFailed, and the Log fails:
//     every later Append, SaveSnapshot, Replay or LoadSnapshot returns the
//     failure without touching Pebble. Close still closes Pebble.
//   - Writes that reach Pebble after the error (a pipelined or concurrent
//     Append that had not seen it yet, or appends under SyncInterval until
//     the next sync) make Pebble panic once its writer has noticed the error,
//     inside its commit pipeline and with its commit mutex held (also on a
//     memtable rotation, with DB.mu held). The Log recovers the panic on the
//     appending goroutine, returns it from Append marked ErrFailed, and
//     marks Pebble wedged: no later call enters Pebble's write path, and
//     Close returns an error without calling DB.Close, which would wait for
//     that mutex forever. Pebble's goroutines and files stay until the
//     process exits, which it should.
//   - Logger.Fatalf, which Pebble calls where it cannot go on (for example
//     when writing the MANIFEST fails during a background flush or
//     compaction), logs at Error and panics. On Pebble's own goroutines
//     that panic ends the process: no append is acknowledged after it, and
//     nothing acknowledged is lost, since the WAL is kept until a flush is
//     recorded in the MANIFEST. On an appending goroutine it is recovered as
//     above.
//   - Errors on sstable writes during flushes and compactions are retried by
//     Pebble and logged as background errors; the WAL still holds the data.
//
// After ErrFailed the outcome of the batches in flight is unknown: the node
// should stop, and reopening the log replays Pebble's WAL.
//
// # Disk space
//
// A full disk must never reach the paths above: Pebble keeps a WAL write
// error forever, and retries a failed flush at once, forever (each attempt
// a background error). So the Log keeps a reserve, Options.MinFree bytes
// of the file system of Dir:
//
//   - A goroutine reads the free space (statfs, through vfs.FS) every 250
//     ms, and at once when poked: by an Append that brings an estimate
//     (the last figure minus the bytes appended since, one atomic add per
//     Append) below the reserve, and by a failed write. Below the reserve
//     DiskFull returns an error wrapping ErrDiskFull; the node then refuses
//     new messages (DISK_FULL) but keeps appending acks, group creations
//     and dead-letter moves, which let space be reclaimed. Once the free
//     space is back above MinFree × 1.25 plus the ballast, DiskFull
//     returns nil again: no restart is needed.
//   - A ballast file (BallastName, MinFree/4, at most 64 MiB, zeros) sits
//     in Dir. Pebble's FS is wrapped with vfs.OnDiskFull: the first ENOSPC
//     deletes the ballast and marks the disk full at once, and the write
//     that met it is retried once, now with room; flushes and compactions
//     find room too. The ballast is re-created before the Log leaves the
//     disk-full state.
//   - After an ENOSPC, creating an sstable waits one second while the disk
//     is full, so Pebble's flush retries cost no CPU; its error lines (and
//     the Log's own storage warnings) are rate-limited: one line per kind
//     per 10 s, with the count of the lines left out.
//   - pebble.Open flushes the WAL it replays before it returns, and
//     retries a failing flush forever: on a nearly full disk it would never
//     return. When the free space is below the WAL files in Dir plus
//     MinFree/2, Open opens Pebble read-only first, which tells the live
//     part of the WAL; if its flush does not fit either, the Log stays
//     read-only: reads, Replay and LoadSnapshot work, Append and
//     SaveSnapshot return ErrDiskFull (acks included), and the checking
//     goroutine reopens Pebble read-write once the flush fits.
//   - Every change of Health (ok, disk_full, failed) is logged at ERROR
//     with its cause; while the disk stays full a WARN reminder follows at
//     most once a minute.
//
// If a write fails anyway (the reserve was too small for a burst, or
// another process filled the disk faster than the checks), the Log fails
// as above, and only a restart recovers it; the reserve makes that rare.
//
// # Goroutines and stopping
//
// Open starts the free-space checker (pprof label swarmmq=wal-space)
// unless Options.MinFree is negative, and under SyncInterval the interval
// syncer (swarmmq=wal-syncer). Close stops them, waits for them, then
// closes Pebble, which fsyncs the WAL. Pebble runs its own goroutines
// (flushes, compactions, WAL writer), all stopped by Close.
//
// # Metrics
//
// Created once in Open in Options.Metrics:
//
//   - swarmmq_wal_append_batches_total: Append calls that applied a batch.
//   - swarmmq_wal_append_entries_total: entries in those batches.
//   - swarmmq_wal_append_bytes_total: record bytes in those batches.
//   - swarmmq_wal_sync_seconds: histogram of the duration of each fsync of
//     a WAL file, timed in a vfs.FS wrapper; its count divided by the
//     batches shows how many batches share an fsync.
//   - swarmmq_wal_errors_total: failed applies and syncs, and corruption
//     found by Replay or LoadSnapshot (not refusals after a failure or
//     Close, nor invalid arguments).
//   - swarmmq_wal_interval_syncs_total: syncs of the interval syncer that
//     completed (SyncInterval only). Each makes durable every batch applied
//     before it began, and they run one after another, so an Append whose
//     Wait returned while the counter read c is durable once it reads c+2:
//     sync c+1 may have begun before the batch was applied, sync c+2 began
//     after c+1 completed. So a power failure while it reads n can lose
//     only appends acknowledged after it reached n-1: about one interval.
//   - swarmmq_wal_disk_free_bytes: the free space of the file system of
//     Dir at the last check.
//   - swarmmq_wal_disk_full: 1 while DiskFull reports the disk full.
//   - swarmmq_wal_no_space_total: ENOSPC errors met by Pebble's writes.
//
// # Concurrency
//
// A Log is safe for concurrent use. Appends are applied one at a time: a
// partition's indexes are assigned in the order its batches enter Pebble's
// commit pipeline, so index order is commit order, also in the WAL and
// after a crash. Fsyncs are awaited outside that critical section, so
// batches from several goroutines, or pipelined ones, share an fsync. A
// Pending is owned by one goroutine. Replay sees the entries committed when
// it starts; its callback must not call the Log's methods. Lock order:
// Log.life, then Log.mu, then Log.rep.
//
// # Layout
//
// One Pebble database; all integers big-endian; indexes start at 1.
//
// An entry of a partition's log:
//
//	key   +-----+---------------+-------------------+
//	      | 'L' | partition u32 | index u64         |   13 bytes
//	      +-----+---------------+-------------------+
//	value +----------------------+--------------------------+
//	      | crc32c(record) u32   | record                   |
//	      +----------------------+--------------------------+
//
// The snapshot of a partition (at most one); the checksum covers index and
// data:
//
//	key   +-----+---------------+
//	      | 'S' | partition u32 |                           5 bytes
//	      +-----+---------------+
//	value +------------------------------+-----------+------------------+
//	      | crc32c(index | snapshot) u32 | index u64 | snapshot bytes   |
//	      +------------------------------+-----------+------------------+
//
// The partition count, written when the log is created:
//
//	key   +-----+--------------+
//	      | 'M' | "partitions" |                            11 bytes
//	      +-----+--------------+
//	value +-----------------+
//	      | partitions u32  |
//	      +-----------------+
//
// The node's secrets (Secret), random bytes drawn once:
//
//	key   +-----+-----------+------+
//	      | 'M' | "secret/" | name |
//	      +-----+-----------+------+
//	value the secret's bytes
//
// Small values the node keeps about its data directory (Meta, SetMeta):
//
//	key   +-----+----------+------+
//	      | 'M' | "value/" | name |
//	      +-----+----------+------+
//	value the value's bytes
//
// SaveSnapshot writes the 'S' key and range-deletes the 'L' keys of the
// partition below keepFrom (and at most the snapshot's index), in one
// synced batch; the entries the snapshot's state still points at stay
// readable with Read. Keys sort
// by partition, then index, so Replay is a forward scan and Open finds each
// partition's last index with one reverse seek.
package wal
