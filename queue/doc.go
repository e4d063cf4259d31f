// Package queue is the deterministic state machine of one partition: it
// applies the partition's log records (message batches, acks, group
// events) and answers the fetches, dedupe look-ups and redelivery
// deadlines that derive from them.
//
// # Place in the pipeline
//
// The fanout stage owns one *Partition per partition and applies each
// committed record with Apply, in log order; it serves FETCH with Deliver,
// NACK with Nack, and arms one timer per worker from NextDeadline. The
// dedupe stage calls the partition's Lookup concurrently to answer retried
// publishes before they are written. persist encodes records with
// AppendRecord / AppendMessagesRecord; recovery decodes them with
// DecodeRecord and replays them, starting from a Snapshot.
//
// # Goroutines, time, concurrency
//
// The package owns no goroutines, timers or I/O and reads no clock, so
// there is nothing to stop. Time comes in as arguments, in unix ns: the
// Time of each record (the proposer's clock) for Apply, and `now` for the
// queries. A Partition is owned by one goroutine and is not safe for
// concurrent use; the only exception is Lookup (and its Window's Lookup
// and Len), which may be called from any goroutine while the owner applies
// records (Apply is the only writer, under the windows' RWMutexes).
//
// # Model
//
// Durable state, derived from the records alone (the same records in the
// same order always give the same state and a byte-identical Snapshot):
//
//   - A destination is created by its first message (or by a group or a
//     dead letter). Its messages get seqs 1, 2, 3… in apply order and are
//     retained with the Time of the record that stored them.
//   - Dedupe windows map recent keys — (destination, message id) — to
//     their seq. A message whose key is remembered is not stored again:
//     its Result carries the original seq and Duplicate. The messages of
//     a RecordMessages record (application ids) use the partition's window,
//     whose keys leave in insertion order once older than DedupeWindow
//     relative to the newest record Time, or beyond DedupeMax. Each
//     message of a RecordSessionMessages record uses the window of its
//     producer field's session, which remembers at least that session's
//     ProducerWindow newest keys; a session is forgotten once it stored
//     nothing for ProducerIdle, or beyond MaxProducers sessions or
//     MaxProducerKeys keys, least recently used first (session.go).
//   - A message that would take its destination over MaxMsgs or MaxBytes
//     (payload bytes) is refused with CodeDestinationFull; nothing is
//     evicted to make room.
//   - A group starts at its destination's oldest retained message. Per
//     group: floor (every seq below it is done) and the done seqs above it
//     as sorted ranges. "Done" means acknowledged, dead-lettered or
//     dropped. An ack needs no prior delivery (delivery is volatile, see
//     below); acks are idempotent and may come in any order.
//   - A message is dropped once every group of its destination is done
//     with it; with no group it stays until MaxAge.
//   - A DeadLetter record marks its seqs done for that group and stores a
//     copy of each message, bytes unchanged, under a new seq of Dest+".dlq"
//     (same partition; no dedupe, no limits). Messages of a ".dlq"
//     destination are never dead-lettered again.
//   - Admin records (an operator's swarmctl, admin.go) each give one
//     Result, CodeNoDestination or CodeNoGroup if what they name does not
//     exist. RecordDestConfig creates a destination and sets its own
//     retention and limits over the node's (DestConfig); RecordDestEdit
//     changes the fields its flags name of an existing one's. RecordPurge drops
//     its messages (groups are done with them; seqs go on). RecordDestDelete
//     also forgets its groups and config: the destination stays hidden
//     with its last seq, so seqs never repeat and dedupe keys stay its own.
//     RecordGroupReset moves a group to a Start (earliest, latest, a seq,
//     a time): done below it, not done from it on (for what is retained),
//     in-flight deliveries forgotten; with FlagCreate it creates a group
//     there and leaves an existing one alone (a consumer's --from).
//     RecordGroupDelete forgets a group. RecordReplay moves every message
//     of Dest+".dlq" back to Dest under new seqs, the same bytes and ids.
//   - RecordDeadLetterFrom is RecordDeadLetter plus why (Reason) and each
//     seq's delivery attempts: every copy it stores in Dest+".dlq"
//     remembers its group, original seq, attempts and reason
//     (DeadLetterOrigin, Peek) while it is retained there.
//   - RecordTerminate (a consumer's TERM) makes its seqs done for the group
//     like an ack and, on a destination that is not itself a ".dlq",
//     copies each to Dest+".dlq" with ReasonTerminated, 0 attempts (the
//     log does not know them) and the consumer's reason as Note. Its
//     Result.Count is 1 for each seq it terminated. Progress (PROGRESS) is
//     volatile like Nack: it pushes an in-flight delivery's deadline to
//     now+AckTimeout, at most MaxProgress times per delivery.
//   - Retention: RetentionInterest (the default) is the rule above;
//     RetentionLimits never drops for acks: messages stay until MaxAge,
//     and a message over MaxMsgs/MaxBytes drops the oldest to make room
//     instead of being refused. Each destination takes the node's mode and
//     limits unless its DestConfig sets its own.
//   - MaxAge: once the newest applied record Time is more than MaxAge after
//     the Time that stored the oldest message of a destination, Apply drops
//     it, then the next one, and so on: expiry follows seq order, so a
//     message stored with an older Time behind a younger one waits for it.
//     Group floors move up past dropped messages.
//
// Volatile state, changed only by the queries and lost at restart:
// each group's next never-delivered seq, its in-flight deliveries with
// their attempts and deadlines, NACK delays, the dead-letter candidates
// handed out by TakeDead, and the expiry cursor of ExpireAge. After a
// restart (replay or Restore) every message a group is not done with is
// delivered again with attempt 1, in seq order; consumers must expect
// redelivery of what they had not acknowledged durably.
//
// Deliver hands out due redeliveries first (deadline <= now, seq order),
// then new messages. A due in-flight message that already had MaxDeliver
// attempts is not delivered: TakeDead hands it to the node, which logs a
// RecordDeadLetter; if that record has not applied one AckTimeout later,
// the seq is handed out again (a duplicate DeadLetter is harmless).
//
// ExpireAge(now) stops delivering messages older than MaxAge at now and
// drops their in-flight deliveries, but frees nothing: their bytes and
// their share of MaxMsgs/MaxBytes go when a record's Time expires them in
// Apply. That keeps admission (CodeDestinationFull), and so every seq,
// identical on replay and on every replica, whatever the wall clock of
// each node did. An idle partition therefore holds expired bytes until
// its next record; they are never delivered.
//
// # Messages in memory and in the log
//
// A retained message is held by its location in the log (Loc: the index of
// the messages record that stored it, its offset and length there). The
// record's message section is also kept in memory while Options.Memory (a
// Budget, shareable by every partition of a node) has room; Deliver then
// hands out a view of it in Delivery.Msg. Otherwise Msg is nil and the node
// reads the message from the log at Delivery.Loc (MessageAt). Memory is
// volatile: it never changes an Apply result, a seq or a Snapshot, and a
// partition restored from a snapshot holds every message by location only.
// The log entries a retained message points at must therefore outlive the
// snapshot: KeepFrom is the lowest index still needed. The same holds for
// the dedupe window: a snapshot names the runs of messages whose ids it
// remembers, not the ids, and Restore reads them back from the log (so a
// snapshot stays small however many ids the window holds, and storing one
// costs no multi-megabyte write).
//
// # Record format
//
// One record per log entry (the entry frames it; all integers big-endian,
// str16 = u16 length + bytes, names non-empty):
//
//	0         1        2                   10
//	+---------+--------+-------------------+------------------------------+
//	| version | type   | time i64 (unix ns)| body                         |
//	| u8 (=1) | u8     |                   |                              |
//	+---------+--------+-------------------+------------------------------+
//
//	type 1 messages:     dest str16 | count u32 | count × message
//	type 2 ack:          dest str16 | group str16 | count u32 | count × seq u64
//	type 3 group-create: dest str16 | group str16
//	type 4 dead-letter:  dest str16 | group str16 | count u32 | count × seq u64
//	type 5 session messages: as type 1 (the body of a PUBLISH with
//	                     frame.FlagSession); each message's producer names its session
//	type 6 dest-config:  dest str16 | config
//	type 7 purge:        dest str16
//	type 8 dest-delete:  dest str16
//	type 9 group-reset:  dest str16 | group str16 | flags u8 (1: create) |
//	                     start u8 (1 earliest, 2 latest, 3 seq, 4 time) | at u64
//	type 10 group-delete: dest str16 | group str16
//	type 11 replay:      dest str16 (moves dest+".dlq" back to dest)
//	type 12 dead-letter-from: dest str16 | group str16 | reason u8 (1: max
//	                     deliveries) | count u32 | count × (seq u64 | attempts u32)
//
//	config = retention u8 (0 node's, 1 interest, 2 limits) | max_msgs i64 |
//	         max_bytes i64 | max_age i64 (ns); 0 = the node's, < 0 = unlimited
//
// The body of a messages record is byte for byte the body of a PUBLISH
// frame, so persist copies it from the frame. A message is the wire
// message of docs/design/contracts.md (queue reads only its id and
// payload length; package frame checks the crc):
//
//	id [16] | timestamp i64 | producer u64 | key_id u32 | crc u32 | payload_len u32 | payload
//
// # Snapshot format
//
//	"SMQS" | version u8 (=6; 5 is read too, without notes) | partition u32 | applied index u64 | time i64 |
//	dest count u32 | per destination, sorted by name:
//	    name str16 | flags u8 (1: deleted) | config | last seq u64 |
//	    message count u32 | per retained message: seq u64 | time i64 |
//	        log index u64 | offset u32 | length u32 (its Loc) |
//	    group count u32 | per group, sorted by name:
//	        name str16 | floor u64 | range count u32 | per range: lo u64 | hi u64
//	    origin count u32 | per dead-lettered copy, by seq: seq u64 |
//	        group str16 | from seq u64 | attempts u32 | reason u8 |
//	        note str16 (may be empty; not in version 5)
//	window: the application ids' runs (below) |
//	session count u32 | per session, least recently used first:
//	    producer u64 | last use i64 (partition record time) | window |
//	crc32c u32 (Castagnoli, of every byte before it)
//
//	window = run count u32 | per run of window keys, oldest first:
//	    log index u64 | offset u32 | count u32 | first seq u64
//
// A run is count consecutive messages of one messages record, from the
// offset in its message section, that got consecutive seqs; the keys are
// theirs (destination and time: the record's). Runs are the longest possible, so Snapshot
// after Restore gives the same bytes. Versions 1 (message bytes instead of
// Loc), 2 (every window id, 32 bytes each), 3 (no producer sessions) and 4
// (no destination flags and config) are refused by Restore (no release
// ever wrote them).
//
// A snapshot holds the durable state only. Group "next" and in-flight
// deliveries are volatile: after Restore every seq a group is not done
// with is delivered again immediately with attempt 1, exactly as after a
// replay of the log.
package queue
