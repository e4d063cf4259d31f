package queue

import (
	"encoding/binary"
	"fmt"
	"time"
)

// RecordType says what a Record does to the partition.
type RecordType uint8

// Record types. Values are stored in the log: only ever add new ones.
const (
	// RecordMessages stores a batch of messages (Dest, Count, Raw).
	RecordMessages RecordType = 1
	// RecordAck confirms deliveries to a group (Dest, Group, Seqs).
	RecordAck RecordType = 2
	// RecordGroupCreate creates a consumer group (Dest, Group).
	RecordGroupCreate RecordType = 3
	// RecordDeadLetter moves messages of a group to Dest+".dlq" (Dest,
	// Group, Seqs).
	RecordDeadLetter RecordType = 4
	// RecordSessionMessages stores a batch of messages published in a
	// producer session (Dest, Count, Raw): each message's dedupe key is
	// scoped to the session its producer field names, not to the
	// partition's window of application ids.
	RecordSessionMessages RecordType = 5
	// RecordDestConfig creates a destination (unless it exists) and sets
	// its configuration (Dest, Config): an admin's `dest create`.
	RecordDestConfig RecordType = 6
	// RecordPurge drops every retained message of a destination (Dest);
	// its seqs go on from where they were.
	RecordPurge RecordType = 7
	// RecordDestDelete drops a destination's messages, groups and
	// configuration (Dest).
	RecordDestDelete RecordType = 8
	// RecordGroupReset moves a group to a position (Dest, Group, Start);
	// with FlagCreate it creates the group there instead, and leaves an
	// existing group alone.
	RecordGroupReset RecordType = 9
	// RecordGroupDelete removes a group (Dest, Group).
	RecordGroupDelete RecordType = 10
	// RecordReplay moves every message of Dest+".dlq" back to Dest
	// (Dest), under new seqs, bytes (and so ids) unchanged.
	RecordReplay RecordType = 11
	// RecordDeadLetterFrom is RecordDeadLetter that also says why and
	// after how many deliveries (Dest, Group, Reason, Seqs, Attempts):
	// each copy in Dest+".dlq" keeps where it came from (DeadLetterOrigin).
	RecordDeadLetterFrom RecordType = 12
	// RecordTerminate ends deliveries of a group that a consumer gave up
	// on (Dest, Group, Note, Seqs): each becomes done for the group and,
	// unless Dest is itself a ".dlq" destination, is copied to Dest+".dlq"
	// with ReasonTerminated and the consumer's reason (Note).
	RecordTerminate RecordType = 13
	// RecordDestEdit changes some of an existing destination's
	// configuration (Dest, Flags, Config): the fields Flags names
	// (EditRetention, EditMaxMsgs, ...) take Config's values, the others
	// stay. An admin's `dest edit`.
	RecordDestEdit RecordType = 14
)

// Flags of a RecordDestEdit record: which fields of Config it sets.
const (
	EditRetention uint8 = 1 << iota
	EditMaxMsgs
	EditMaxBytes
	EditMaxAge

	editAll = EditRetention | EditMaxMsgs | EditMaxBytes | EditMaxAge
)

// Reasons of a RecordDeadLetterFrom record.
const (
	// ReasonMaxDeliver: the message was delivered MaxDeliver times
	// without an ack (each attempt timed out or was NACKed).
	ReasonMaxDeliver uint8 = 1
	// ReasonTerminated: a consumer terminated the delivery (a TERM), with
	// its own reason in DeadLetterOrigin.Note.
	ReasonTerminated uint8 = 2
)

// FlagCreate is the RecordGroupReset flag of a group created at a start
// position (a consumer's --from).
const FlagCreate uint8 = 1

// RecordVersion is the first byte of every encoded record.
const RecordVersion = 1

// recordHeaderSize is version u8 + type u8 + time i64.
const recordHeaderSize = 10

// String returns the type's lower-case name.
func (t RecordType) String() string {
	switch t {
	case RecordMessages:
		return "messages"
	case RecordAck:
		return "ack"
	case RecordGroupCreate:
		return "group-create"
	case RecordDeadLetter:
		return "dead-letter"
	case RecordSessionMessages:
		return "session-messages"
	case RecordDestConfig:
		return "dest-config"
	case RecordPurge:
		return "purge"
	case RecordDestDelete:
		return "dest-delete"
	case RecordGroupReset:
		return "group-reset"
	case RecordGroupDelete:
		return "group-delete"
	case RecordReplay:
		return "replay"
	case RecordDeadLetterFrom:
		return "dead-letter-from"
	case RecordTerminate:
		return "terminate"
	case RecordDestEdit:
		return "dest-edit"
	}
	return fmt.Sprintf("RecordType(%d)", uint8(t))
}

// Record is one entry of a partition log. Which fields are used depends on
// Type (see the constants). Time is the proposer's clock in unix ns; apply
// uses it instead of a clock. A decoded Record's byte slices are views into
// the decoded input. A Record is a plain value, not safe for concurrent
// mutation.
type Record struct {
	Type  RecordType
	Time  int64
	Dest  []byte
	Group []byte
	// Count is the number of messages in Raw (RecordMessages). DecodeRecord
	// also sets it to len(Seqs) for RecordAck and RecordDeadLetter.
	Count uint32
	// Raw is Count wire messages back to back: the message section of a
	// PUBLISH body, byte for byte.
	Raw []byte
	// Seqs are the sequence numbers of RecordAck and RecordDeadLetter.
	Seqs []uint64
	// Config is the configuration of RecordDestConfig.
	Config DestConfig
	// Start and Flags are the position and flags of RecordGroupReset.
	Start Start
	Flags uint8
	// Reason and Attempts (one per seq) are those of RecordDeadLetterFrom.
	Reason   uint8
	Attempts []uint32
	// Note is the consumer's reason of RecordTerminate.
	Note []byte
}

// AppendRecord appends the encoding of r to dst and returns it. r must be
// well formed (names of at most 65535 bytes); Apply and DecodeRecord check
// the rest.
func AppendRecord(dst []byte, r *Record) []byte {
	switch r.Type {
	case RecordMessages, RecordSessionMessages:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		dst = binary.BigEndian.AppendUint32(dst, r.Count)
		return append(dst, r.Raw...)
	case RecordGroupCreate, RecordGroupDelete:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		return appendStr16(dst, r.Group)
	case RecordPurge, RecordDestDelete, RecordReplay:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		return appendStr16(dst, r.Dest)
	case RecordDestConfig:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		return appendConfig(dst, r.Config)
	case RecordDestEdit:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		dst = append(dst, r.Flags)
		return appendConfig(dst, r.Config)
	case RecordGroupReset:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		dst = appendStr16(dst, r.Group)
		dst = append(dst, r.Flags, byte(r.Start.Kind))
		return binary.BigEndian.AppendUint64(dst, r.Start.At)
	case RecordDeadLetterFrom:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		dst = appendStr16(dst, r.Group)
		dst = append(dst, r.Reason)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Seqs)))
		for i, s := range r.Seqs {
			dst = binary.BigEndian.AppendUint64(dst, s)
			dst = binary.BigEndian.AppendUint32(dst, r.Attempts[i])
		}
		return dst
	case RecordTerminate:
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		dst = appendStr16(dst, r.Group)
		dst = appendStr16(dst, r.Note)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Seqs)))
		for _, s := range r.Seqs {
			dst = binary.BigEndian.AppendUint64(dst, s)
		}
		return dst
	default: // RecordAck, RecordDeadLetter
		dst = appendRecordHeader(dst, r.Type, r.Time)
		dst = appendStr16(dst, r.Dest)
		dst = appendStr16(dst, r.Group)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Seqs)))
		for _, s := range r.Seqs {
			dst = binary.BigEndian.AppendUint64(dst, s)
		}
		return dst
	}
}

// AppendMessagesRecord appends a RecordMessages record without building a
// Record: raw is count wire messages (a PUBLISH message section), copied
// as is. After the 10-byte record header the bytes equal a PUBLISH body.
func AppendMessagesRecord(dst []byte, t int64, dest []byte, count uint32, raw []byte) []byte {
	dst = appendRecordHeader(dst, RecordMessages, t)
	dst = appendStr16(dst, dest)
	dst = binary.BigEndian.AppendUint32(dst, count)
	return append(dst, raw...)
}

func appendRecordHeader(dst []byte, t RecordType, time int64) []byte {
	dst = append(dst, RecordVersion, byte(t))
	return binary.BigEndian.AppendUint64(dst, uint64(time))
}

// DecodeRecord decodes the whole of b into r. r's byte slices become views
// into b (valid as long as b is); r.Seqs reuses its capacity. Every length
// and count is checked against b before anything is allocated; errors wrap
// ErrCorrupt and leave r in an unspecified state.
func DecodeRecord(b []byte, r *Record) error {
	rd := reader{b: b}
	if v := rd.u8("version"); rd.err == nil && v != RecordVersion {
		return corruptf("record version %d, want %d", v, RecordVersion)
	}
	r.Type = RecordType(rd.u8("type"))
	r.Time = int64(rd.u64("time"))
	r.Dest = rd.str16("destination")
	r.Group, r.Raw, r.Count, r.Seqs = nil, nil, 0, r.Seqs[:0]
	r.Config, r.Start, r.Flags, r.Reason, r.Attempts, r.Note = DestConfig{}, Start{}, 0, 0, r.Attempts[:0], nil
	if rd.err != nil {
		return rd.err
	}
	switch r.Type {
	case RecordMessages, RecordSessionMessages:
		r.Count = rd.u32("message count")
		r.Raw = rd.b
		if rd.err != nil {
			return rd.err
		}
		return checkMessages(r.Raw, r.Count)
	case RecordGroupCreate, RecordGroupDelete:
		r.Group = rd.str16("group")
	case RecordPurge, RecordDestDelete, RecordReplay:
	case RecordDestConfig:
		r.Config = readConfig(&rd)
	case RecordDestEdit:
		r.Flags = rd.u8("flags")
		r.Config = readConfig(&rd)
	case RecordGroupReset:
		r.Group = rd.str16("group")
		r.Flags = rd.u8("flags")
		r.Start = Start{Kind: StartKind(rd.u8("start")), At: rd.u64("start at")}
	case RecordAck, RecordDeadLetter:
		r.Group = rd.str16("group")
		decodeSeqs(&rd, r)
	case RecordDeadLetterFrom:
		r.Group = rd.str16("group")
		r.Reason = rd.u8("reason")
		decodeSeqAttempts(&rd, r)
	case RecordTerminate:
		r.Group = rd.str16("group")
		r.Note = rd.optStr16("note")
		decodeSeqs(&rd, r)
	default:
		return corruptf("unknown record type %d", uint8(r.Type))
	}
	if rd.err == nil && len(rd.b) != 0 {
		return corruptf("%d bytes after %s record", len(rd.b), r.Type)
	}
	return rd.err
}

// configSize is the encoded size of a DestConfig.
const configSize = 1 + 8 + 8 + 8

// appendConfig appends retention u8 | max_msgs i64 | max_bytes i64 |
// max_age i64 (ns).
func appendConfig(dst []byte, c DestConfig) []byte {
	dst = append(dst, byte(c.Retention))
	dst = binary.BigEndian.AppendUint64(dst, uint64(c.MaxMsgs))
	dst = binary.BigEndian.AppendUint64(dst, uint64(c.MaxBytes))
	return binary.BigEndian.AppendUint64(dst, uint64(c.MaxAge))
}

// readConfig reads what appendConfig wrote.
func readConfig(rd *reader) DestConfig {
	return DestConfig{Retention: Retention(rd.u8("retention")), MaxMsgs: int64(rd.u64("max msgs")),
		MaxBytes: int64(rd.u64("max bytes")), MaxAge: time.Duration(rd.u64("max age"))}
}

// decodeSeqs reads a u32 count and that many u64 seqs into r.Seqs.
func decodeSeqs(rd *reader, r *Record) {
	n := rd.count(8, "seq count")
	if rd.err != nil {
		return
	}
	if cap(r.Seqs) < n {
		r.Seqs = make([]uint64, 0, n)
	}
	for i := 0; i < n; i++ {
		r.Seqs = append(r.Seqs, rd.u64("seq"))
	}
	r.Count = uint32(n)
}

// decodeSeqAttempts reads a u32 count and that many (seq u64, attempts
// u32) into r.Seqs and r.Attempts.
func decodeSeqAttempts(rd *reader, r *Record) {
	n := rd.count(12, "seq count")
	if rd.err != nil {
		return
	}
	if cap(r.Seqs) < n {
		r.Seqs = make([]uint64, 0, n)
	}
	if cap(r.Attempts) < n {
		r.Attempts = make([]uint32, 0, n)
	}
	for i := 0; i < n; i++ {
		r.Seqs = append(r.Seqs, rd.u64("seq"))
		r.Attempts = append(r.Attempts, rd.u32("attempts"))
	}
	r.Count = uint32(n)
}

// IsMessages reports whether t stores messages.
func (t RecordType) IsMessages() bool { return t == RecordMessages || t == RecordSessionMessages }

// msgRecord is the part of a messages record that Restore and MessageAt
// read: views into the record.
type msgRecord struct {
	typ  RecordType
	time int64
	dest []byte
	raw  []byte // the message section
}

// messagesOf decodes the header of record, log entry index, which must be
// a messages record, without checking the messages.
func messagesOf(record []byte, index uint64) (msgRecord, error) {
	rd := reader{b: record}
	if v := rd.u8("version"); rd.err == nil && v != RecordVersion {
		return msgRecord{}, corruptf("record %d: version %d, want %d", index, v, RecordVersion)
	}
	m := msgRecord{typ: RecordType(rd.u8("type"))}
	if rd.err == nil && !m.typ.IsMessages() {
		return msgRecord{}, corruptf("record %d is a %s record, want messages", index, m.typ)
	}
	m.time = int64(rd.u64("time"))
	m.dest = rd.str16("destination")
	rd.u32("message count")
	if rd.err != nil {
		return msgRecord{}, fmt.Errorf("record %d: %w", index, rd.err)
	}
	m.raw = rd.b
	return m, nil
}

// MessageAt returns the message at l in record, the bytes of log entry
// l.Index: a view into record. It reads the record header and the one
// message only. A record that is not a messages record, or a Loc that does
// not frame a message of l.Len bytes in it, returns an error wrapping
// ErrCorrupt.
func MessageAt(record []byte, l Loc) ([]byte, error) {
	rec, err := messagesOf(record, l.Index)
	if err != nil {
		return nil, err
	}
	raw := rec.raw
	if uint64(l.Off)+uint64(l.Len) > uint64(len(raw)) || msgLen(raw[l.Off:]) != int(l.Len) {
		return nil, corruptf("no message of %d bytes at offset %d of record %d", l.Len, l.Off, l.Index)
	}
	end := l.Off + l.Len
	return raw[l.Off:end:end], nil
}
