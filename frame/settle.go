package frame

import "encoding/binary"

// MaxTermReason is the longest reason a TERM may carry, in bytes.
const MaxTermReason = 255

// Term is a decoded TERM body: seqs of one destination and group that the
// consumer gives up on, with its reason. The server never delivers them to
// the group again and moves them to the destination's dead-letter
// destination (docs/protocol.md §3, TERM). Its fields are views into the
// body given to [DecodeTerm], valid as long as that body is not modified
// or reused; it is safe for concurrent reads.
type Term struct {
	// Destination is the valid destination name.
	Destination []byte
	// Group is the valid group name.
	Group []byte
	// Reason is the consumer's reason, at most MaxTermReason bytes
	// (possibly empty; UTF-8 by convention, never checked).
	Reason []byte

	seqs []byte
}

// Len returns the number of seqs.
func (t Term) Len() int { return len(t.seqs) / seqSize }

// Seq returns seq i, 0 <= i < Len(); it panics if i is out of range.
func (t Term) Seq(i int) uint64 {
	return binary.BigEndian.Uint64(t.seqs[i*seqSize : (i+1)*seqSize])
}

// AppendTerm appends a whole TERM frame terminating seqs of dest for
// group with reason (which must be at most MaxTermReason bytes: the
// receiver refuses a longer one with CodeBadRequest).
func AppendTerm(dst []byte, corr uint64, dest, group, reason []byte, seqs []uint64) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeTerm, corr)
	dst = appendStr(dst, dest)
	dst = appendStr(dst, group)
	dst = appendStr(dst, reason)
	dst = appendSeqs(dst, seqs)
	PatchLength(dst, start)
	return dst
}

// errLongReason is the error of a TERM whose reason is too long.
var errLongReason = &Error{Code: CodeBadRequest, Msg: "TERM reason longer than 255 bytes"}

// DecodeTerm decodes a TERM body. A malformed body fails with
// CodeMalformed, then an invalid destination with CodeBadDestination, an
// invalid group with CodeBadGroup and a reason longer than MaxTermReason
// with CodeBadRequest (not fatal). It allocates nothing.
func DecodeTerm(body []byte) (Term, error) {
	r := reader{b: body}
	t := Term{Destination: r.str(), Group: r.str(), Reason: r.str()}
	t.seqs = r.items(r.u32(), seqSize)
	if err := r.end(); err != nil {
		return Term{}, err
	}
	if err := names(t.Destination, t.Group); err != nil {
		return Term{}, err
	}
	if len(t.Reason) > MaxTermReason {
		return Term{}, errLongReason
	}
	return t, nil
}

// AppendProgress appends a whole PROGRESS frame: the consumer is still
// working on the deliveries seqs of dest for group, whose ack deadlines
// the server pushes out. Its body is laid out like ACK's.
func AppendProgress(dst []byte, corr uint64, dest, group []byte, seqs []uint64) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeProgress, corr)
	dst = appendStr(dst, dest)
	dst = appendStr(dst, group)
	dst = appendSeqs(dst, seqs)
	PatchLength(dst, start)
	return dst
}

// DecodeProgress decodes a PROGRESS body, with the checks of [DecodeAck]
// (the layouts are the same). It allocates nothing.
func DecodeProgress(body []byte) (Ack, error) {
	return DecodeAck(body)
}
