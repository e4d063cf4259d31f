// Package frame is the wire codec of the SwarmMQ protocol, version 1.
//
// # Place in the pipeline
//
// netio hands the bytes it has read to [Decode], which cuts them into
// frames; the decode stage turns each frame body into a request with the
// matching DecodeX function (for example [DecodePublish]) and the ack stage
// builds replies with the AppendX encoders. Clients use the same functions in
// the other direction. docs/protocol.md is the specification written from
// this package; the two must agree.
//
// # Goroutines, stopping and concurrency
//
// frame is a pure library: it owns no goroutines, timers or I/O, so there is
// nothing to stop, and it has no mutable package state. Every function is
// safe for concurrent use on distinct buffers. Values returned by decoders
// are views into the caller's buffer; an iterator ([Publish], [Messages]) is
// not safe for concurrent use, so copy the value to iterate from several
// goroutines.
//
// # Frames
//
// Every integer is big-endian. A frame is
//
//	0        4         5        6        8                  16
//	+--------+---------+--------+--------+------------------+---------------+
//	| length | version | type   | flags  | correlation id   | body ...      |
//	| u32    | u8 (=1) | u8     | u16    | u64              | length-12     |
//	+--------+---------+--------+--------+------------------+---------------+
//
// length counts the bytes after the length field (12 + body), so a whole
// frame is length+4 bytes and never more than the negotiated max frame
// ([DefaultMaxFrame] until negotiated). Flags are reserved (senders write 0,
// receivers ignore them) except NACK's bit 0, [FlagRelease]. A reply carries the correlation id of its request;
// frames the server sends on its own carry 0.
//
// Bodies, where str is a u16 length followed by that many bytes:
//
//	HELLO        client_id str | credits u32 | max_frame u32
//	HELLO_OK     node_id str | credits u32 | max_frame u32 | partitions u32
//	PUBLISH      destination str | count u32 | count × message
//	PUBLISH_ACK  count u32 | count × (code u16 | flags u16 | seq u64)
//	FETCH        destination str | group str | max u32 | wait_ms u32
//	MESSAGES     count u32 | count × (seq u64 | attempt u32 | message)
//	ACK          destination str | group str | count u32 | count × seq u64
//	ACK_OK       count u32
//	NACK         destination str | group str | delay_ms u32 | count u32 | count × seq u64
//	NACK_OK      count u32
//	ERROR        code u16 | message str
//	PING, PONG   (empty)
//	PRODUCER     producer_id u64 | token [16]byte
//	PRODUCER_OK  producer_id u64 | token [16]byte | window u32
//	METADATA     (empty)
//	METADATA_OK  epoch u64 | nodes u16 | nodes × address str | partitions u32 | partitions × leader u16
//	TERM         destination str | group str | reason str | count u32 | count × seq u64  (answered by ACK_OK)
//	PROGRESS     destination str | group str | count u32 | count × seq u64  (answered by NACK_OK)
//
// Node-to-node links use the same header with their own types, from 64
// (peer.go: PEER_HELLO, PEER_HELLO_OK, RAFT, REQUEST, RESPONSE), decoded by
// [DecodePeer]; [Decode] refuses them, and DecodePeer refuses client types.
//
// Group names are 1..255 bytes of [A-Za-z0-9._-] ([ValidName]);
// destination names are 1..251 such bytes, or up to 255 ending in ".dlq",
// so that every dead-letter name fits ([ValidDestination]). Names are
// defined in name.go, once, for every package.
//
// # Messages
//
// A message is the unit a partition log stores, byte for byte:
//
//	0                16          24         32       36    40            44
//	+----------------+-----------+----------+--------+-----+-------------+---------+
//	| id             | timestamp | producer | key_id | crc | payload_len | payload |
//	| [16]byte       | i64 ns    | u64      | u32    | u32 | u32         | ...     |
//	+----------------+-----------+----------+--------+-----+-------------+---------+
//
// crc is CRC-32C (Castagnoli) over every byte of the message except the crc
// field: bytes [0,36) followed by bytes [40,44+payload_len). The key id is
// the low 24 bits of key_id, 0 meaning the payload is not sealed; the top
// byte holds message flags. With FlagHeaders the payload region starts
// with a header block, which payload_len and the CRC cover:
//
//	+----------+-----------+---------------------------------------+---------+
//	| hlen u16 | count u16 | count × (key str | value str)          | payload |
//	+----------+-----------+---------------------------------------+---------+
//
// hlen counts the bytes after it. ParseMessage splits the block off by hlen
// alone; CheckHeaderBlock (Message.CheckFlags) holds it to the rules of
// docs/protocol.md §6. A message without flags is the layout from before
// headers existed, byte for byte.
//
// # Errors and allocations
//
// Decoders never panic on any input and allocate nothing: they return views
// into their input and, on failure, one of a fixed set of preallocated
// *[Error] values whose Code is the wire code the server sends back (use
// errors.As, errors.AsType or [CodeOf]; do not modify a returned *Error).
// Lengths and counts are checked against the bytes actually present before
// they are used, and [Decode] rejects a length prefix larger than maxFrame as
// soon as the four length bytes have arrived. Encoders append to dst and
// return it, growing it as append does; they do not enforce the max frame,
// which is the caller's budget.
package frame
