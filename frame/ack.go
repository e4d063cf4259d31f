package frame

import "encoding/binary"

// seqSize is the wire size of a seq.
const seqSize = 8

// Ack is a decoded ACK body: seqs of one destination and group whose
// processing is confirmed. Its fields are views into the body given to
// [DecodeAck], valid as long as that body is not modified or reused; it is
// safe for concurrent reads.
type Ack struct {
	// Destination is the valid destination name.
	Destination []byte
	// Group is the valid group name.
	Group []byte

	seqs []byte
}

// Len returns the number of seqs.
func (a Ack) Len() int { return len(a.seqs) / seqSize }

// Seq returns seq i, 0 <= i < Len(); it panics if i is out of range.
func (a Ack) Seq(i int) uint64 {
	return binary.BigEndian.Uint64(a.seqs[i*seqSize : (i+1)*seqSize])
}

// Nack is a decoded NACK body: seqs of one destination and group to deliver
// again after DelayMS. Its fields are views into the body given to
// [DecodeNack], valid as long as that body is not modified or reused; it is
// safe for concurrent reads.
type Nack struct {
	// Destination is the valid destination name.
	Destination []byte
	// Group is the valid group name.
	Group []byte
	// DelayMS is how long to wait before delivering again, in
	// milliseconds; 0 means at once.
	DelayMS uint32

	seqs []byte
}

// Len returns the number of seqs.
func (n Nack) Len() int { return len(n.seqs) / seqSize }

// Seq returns seq i, 0 <= i < Len(); it panics if i is out of range.
func (n Nack) Seq(i int) uint64 {
	return binary.BigEndian.Uint64(n.seqs[i*seqSize : (i+1)*seqSize])
}

// AppendAck appends a whole ACK frame confirming seqs of dest for group.
func AppendAck(dst []byte, corr uint64, dest, group []byte, seqs []uint64) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeAck, corr)
	dst = appendStr(dst, dest)
	dst = appendStr(dst, group)
	dst = appendSeqs(dst, seqs)
	PatchLength(dst, start)
	return dst
}

// FlagRelease, bit 0 of a NACK's header flags, releases the seqs: they
// are given back without counting the delivery attempt, because the
// consumer never tried to process them (AMQP's "released" outcome), for
// example when it cannot open them with its own keyring. Without it a
// NACK keeps the attempt counted, so a message NACKed max_deliver times
// is dead-lettered.
const FlagRelease uint16 = 1

// AppendNack appends a whole NACK frame giving back seqs of dest for group,
// to be delivered again after delayMS milliseconds.
func AppendNack(dst []byte, corr uint64, dest, group []byte, delayMS uint32, seqs []uint64) []byte {
	return appendNack(dst, 0, corr, dest, group, delayMS, seqs)
}

// AppendRelease appends a whole NACK frame with [FlagRelease]: it gives
// back seqs of dest for group without counting their attempt, to be
// delivered again after delayMS milliseconds.
func AppendRelease(dst []byte, corr uint64, dest, group []byte, delayMS uint32, seqs []uint64) []byte {
	return appendNack(dst, FlagRelease, corr, dest, group, delayMS, seqs)
}

// Released reports whether h is the header of a NACK with [FlagRelease].
func Released(h Header) bool {
	return h.Type == TypeNack && h.Flags&FlagRelease != 0
}

func appendNack(dst []byte, flags uint16, corr uint64, dest, group []byte, delayMS uint32, seqs []uint64) []byte {
	start := len(dst)
	dst = AppendHeader(dst, Header{Version: Version, Type: TypeNack, Flags: flags, Corr: corr})
	dst = appendStr(dst, dest)
	dst = appendStr(dst, group)
	dst = binary.BigEndian.AppendUint32(dst, delayMS)
	dst = appendSeqs(dst, seqs)
	PatchLength(dst, start)
	return dst
}

func appendSeqs(dst []byte, seqs []uint64) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(seqs)))
	for _, s := range seqs {
		dst = binary.BigEndian.AppendUint64(dst, s)
	}
	return dst
}

// DecodeAck decodes an ACK body. The count must match the seqs exactly. A
// malformed body fails with CodeMalformed, then an invalid destination with
// CodeBadDestination and an invalid group with CodeBadGroup. It allocates
// nothing.
func DecodeAck(body []byte) (Ack, error) {
	r := reader{b: body}
	a := Ack{Destination: r.str(), Group: r.str()}
	a.seqs = r.items(r.u32(), seqSize)
	if err := r.end(); err != nil {
		return Ack{}, err
	}
	if err := names(a.Destination, a.Group); err != nil {
		return Ack{}, err
	}
	return a, nil
}

// DecodeNack decodes a NACK body, with the checks of [DecodeAck].
func DecodeNack(body []byte) (Nack, error) {
	r := reader{b: body}
	n := Nack{Destination: r.str(), Group: r.str(), DelayMS: r.u32()}
	n.seqs = r.items(r.u32(), seqSize)
	if err := r.end(); err != nil {
		return Nack{}, err
	}
	if err := names(n.Destination, n.Group); err != nil {
		return Nack{}, err
	}
	return n, nil
}

// AppendAckOK appends a whole ACK_OK frame; corr is the ACK's and count
// the number of its seqs now acknowledged durably.
func AppendAckOK(dst []byte, corr uint64, count uint32) []byte {
	return appendCountFrame(dst, TypeAckOK, corr, count)
}

// AppendNackOK appends a whole NACK_OK frame; corr is the NACK's and count
// the number of its seqs given back.
func AppendNackOK(dst []byte, corr uint64, count uint32) []byte {
	return appendCountFrame(dst, TypeNackOK, corr, count)
}

func appendCountFrame(dst []byte, t Type, corr uint64, count uint32) []byte {
	start := len(dst)
	dst = appendHeader(dst, t, corr)
	dst = binary.BigEndian.AppendUint32(dst, count)
	PatchLength(dst, start)
	return dst
}

// DecodeAckOK decodes an ACK_OK body and returns its count. Errors have
// CodeMalformed.
func DecodeAckOK(body []byte) (count uint32, err error) {
	return decodeCount(body)
}

// DecodeNackOK decodes a NACK_OK body and returns its count. Errors have
// CodeMalformed.
func DecodeNackOK(body []byte) (count uint32, err error) {
	return decodeCount(body)
}

func decodeCount(body []byte) (uint32, error) {
	r := reader{b: body}
	count := r.u32()
	if err := r.end(); err != nil {
		return 0, err
	}
	return count, nil
}
