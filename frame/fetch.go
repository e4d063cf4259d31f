package frame

import "encoding/binary"

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
}

// AppendFetch appends a whole FETCH frame.
func AppendFetch(dst []byte, corr uint64, f Fetch) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeFetch, corr)
	dst = appendStr(dst, f.Destination)
	dst = appendStr(dst, f.Group)
	dst = binary.BigEndian.AppendUint32(dst, f.Max)
	dst = binary.BigEndian.AppendUint32(dst, f.WaitMS)
	PatchLength(dst, start)
	return dst
}

// DecodeFetch decodes a FETCH body. The names are views into body, valid as
// long as body is not modified or reused. A malformed body fails with
// CodeMalformed, then an invalid destination with CodeBadDestination and an
// invalid group with CodeBadGroup.
func DecodeFetch(body []byte) (Fetch, error) {
	r := reader{b: body}
	f := Fetch{Destination: r.str(), Group: r.str(), Max: r.u32(), WaitMS: r.u32()}
	if err := r.end(); err != nil {
		return Fetch{}, err
	}
	if err := names(f.Destination, f.Group); err != nil {
		return Fetch{}, err
	}
	return f, nil
}
