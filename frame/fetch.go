package frame

import "encoding/binary"

// FlagStart, in the header flags of a FETCH, says that its body ends with
// where the group starts if this FETCH creates it: start u8 | start_at
// u64 (Fetch.Start, Fetch.StartAt). Without it a new group starts at the
// oldest retained message. An existing group is not moved.
const FlagStart uint16 = 1

// Where a group created by a FETCH with FlagStart starts (Fetch.Start).
// The values are those of the node's log records (package queue).
const (
	StartEarliest uint8 = 1 // the oldest retained message
	StartLatest   uint8 = 2 // the next message stored
	StartSeq      uint8 = 3 // seq StartAt (or the oldest retained after it)
	StartTime     uint8 = 4 // the first message stored at or after StartAt (unix ns)
)

// Fetch is the body of FETCH: a request for up to Max messages of a
// destination for a consumer group, answered by MESSAGES. A decoded Fetch is
// safe for concurrent reads.
type Fetch struct {
	// Destination is the destination to read.
	Destination []byte
	// Group is the consumer group reading it.
	Group []byte
	// Max is the most messages wanted; 0 asks for the server's default.
	Max uint32
	// WaitMS is how long the server may hold the request, in
	// milliseconds, while no message is available (long poll); 0 answers
	// at once.
	WaitMS uint32
	// Start, if not 0, is where the group starts if this FETCH creates it
	// (StartEarliest...StartTime; FlagStart), and StartAt its seq or time.
	Start   uint8
	StartAt uint64
}

// AppendFetch appends a whole FETCH frame.
func AppendFetch(dst []byte, corr uint64, f Fetch) []byte {
	start := len(dst)
	h := Header{Version: Version, Type: TypeFetch, Corr: corr}
	if f.Start != 0 {
		h.Flags = FlagStart
	}
	dst = AppendHeader(dst, h)
	dst = appendStr(dst, f.Destination)
	dst = appendStr(dst, f.Group)
	dst = binary.BigEndian.AppendUint32(dst, f.Max)
	dst = binary.BigEndian.AppendUint32(dst, f.WaitMS)
	if f.Start != 0 {
		dst = append(dst, f.Start)
		dst = binary.BigEndian.AppendUint64(dst, f.StartAt)
	}
	PatchLength(dst, start)
	return dst
}

// DecodeFetch decodes the body of a FETCH without FlagStart; see
// DecodeFetchFlags.
func DecodeFetch(body []byte) (Fetch, error) { return DecodeFetchFlags(body, 0) }

// DecodeFetchFlags decodes a FETCH body sent with the header flags flags.
// The names are views into body, valid as long as body is not modified or
// reused. A malformed body (or a start outside StartEarliest...StartTime)
// fails with CodeMalformed, then an invalid destination with
// CodeBadDestination and an invalid group with CodeBadGroup.
func DecodeFetchFlags(body []byte, flags uint16) (Fetch, error) {
	r := reader{b: body}
	f := Fetch{Destination: r.str(), Group: r.str(), Max: r.u32(), WaitMS: r.u32()}
	if flags&FlagStart != 0 {
		f.Start, f.StartAt = r.u8(), r.u64()
		if r.err == nil && (f.Start < StartEarliest || f.Start > StartTime) {
			return Fetch{}, errStart
		}
	}
	if err := r.end(); err != nil {
		return Fetch{}, err
	}
	if err := names(f.Destination, f.Group); err != nil {
		return Fetch{}, err
	}
	return f, nil
}
