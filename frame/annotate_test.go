package frame

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// annotate prints frames as annotated hex: one line per field (long fields
// continue on further lines, 8 bytes a line), each followed by "# name=value".
// It reads the layout on its own, as a second, naive reader of the spec;
// parseHex reads its output back.
func annotate(b []byte) string {
	d := &dumper{b: b}
	for d.off < len(d.b) && d.ok() {
		d.frame()
	}
	return d.out.String()
}

// dumper walks bytes field by field. When a field runs past the end it
// prints what is left, marked truncated, and stops.
type dumper struct {
	b     []byte
	off   int
	end   int // end of the current frame
	out   strings.Builder
	trunc bool
	flags uint16 // of the current frame
}

func (d *dumper) ok() bool { return !d.trunc }

// field prints the next n bytes of the frame with the note.
func (d *dumper) field(n int, note string) []byte {
	if d.trunc {
		return nil
	}
	if d.end-d.off < n {
		n, note = d.end-d.off, note+" (truncated)"
		d.trunc = true
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	for i := 0; i == 0 || i < n; i += 8 {
		line := hexBytes(v[i:min(i+8, n)])
		if i == 0 {
			fmt.Fprintf(&d.out, "%-25s# %s\n", line, note)
		} else {
			d.out.WriteString(line + "\n")
		}
	}
	return v
}

func hexBytes(b []byte) string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = hex.EncodeToString([]byte{c})
	}
	return strings.Join(s, " ")
}

func (d *dumper) peek(n int) []byte {
	if d.trunc || d.end-d.off < n {
		return make([]byte, n)
	}
	return d.b[d.off : d.off+n]
}

func (d *dumper) u16(name string) uint16 {
	v := binary.BigEndian.Uint16(d.peek(2))
	d.field(2, fmt.Sprintf("%s=%d", name, v))
	return v
}

func (d *dumper) u32(name string) uint32 {
	v := binary.BigEndian.Uint32(d.peek(4))
	d.field(4, fmt.Sprintf("%s=%d", name, v))
	return v
}

func (d *dumper) u64(name string) uint64 {
	v := binary.BigEndian.Uint64(d.peek(8))
	d.field(8, fmt.Sprintf("%s=%d", name, v))
	return v
}

func (d *dumper) str(name string) {
	n := d.u16(name + ".len")
	if n > 0 {
		d.field(int(n), fmt.Sprintf("%s=%q", name, d.peek(int(n))))
	}
}

func (d *dumper) frame() {
	d.end = len(d.b)
	length := binary.BigEndian.Uint32(d.peek(4))
	d.field(4, fmt.Sprintf("length=%d", length))
	if uint64(length) < uint64(d.end-d.off) {
		d.end = d.off + int(length)
	}
	d.field(1, fmt.Sprintf("version=%d", d.peek(1)[0]))
	typ := Type(d.peek(1)[0])
	d.field(1, "type="+typ.String())
	d.flags = binary.BigEndian.Uint16(d.peek(2))
	if flags := d.flags; typ == TypeNack && flags == FlagRelease {
		d.field(2, "flags=1 (RELEASE)")
	} else if (typ == TypeHello || typ == TypeHelloOK) && flags == FlagLimits {
		d.field(2, "flags=1 (LIMITS)")
	} else {
		d.u16("flags")
	}
	d.u64("corr")
	d.body(typ)
	if d.off < d.end && d.ok() {
		d.field(d.end-d.off, "unexpected bytes")
	}
}

func (d *dumper) body(typ Type) {
	switch typ {
	case TypeHello, TypeHelloOK:
		d.str(map[Type]string{TypeHello: "client_id", TypeHelloOK: "node_id"}[typ])
		d.u32("credits")
		d.u32("max_frame")
		if typ == TypeHelloOK {
			d.u32("partitions")
			if d.flags&FlagLimits != 0 {
				for i := range d.u16("limits") {
					id := LimitID(binary.BigEndian.Uint16(d.peek(2)))
					d.field(2, fmt.Sprintf("[%d] id=%d (%s)", i, uint16(id), id))
					d.u64("value")
				}
			}
		}
	case TypePublish:
		d.str("destination")
		d.messages(d.u32("count"), false)
	case TypePublishAck:
		for i := range d.u32("count") {
			d.field(2, fmt.Sprintf("[%d] code=%s", i, Code(binary.BigEndian.Uint16(d.peek(2)))))
			d.u16("flags")
			d.u64("seq")
		}
	case TypeFetch:
		d.str("destination")
		d.str("group")
		d.u32("max")
		d.u32("wait_ms")
		if d.flags&FlagStart != 0 {
			d.field(1, fmt.Sprintf("start=%d", d.peek(1)[0]))
			d.u64("start_at")
		}
	case TypeMessages:
		d.messages(d.u32("count"), true)
	case TypeAck, TypeNack, TypeTerm, TypeProgress:
		d.seqs(typ)
	case TypeAckOK, TypeNackOK:
		d.u32("count")
	case TypeError:
		d.field(2, "code="+Code(binary.BigEndian.Uint16(d.peek(2))).String())
		d.str("message")
	case TypeMetadataOK:
		d.metadata()
	case TypeProducer, TypeProducerOK:
		d.u64("id")
		d.field(TokenSize, fmt.Sprintf("token=%x", d.peek(TokenSize)))
		if typ == TypeProducerOK {
			d.u32("window")
		}
	}
}

func (d *dumper) metadata() {
	d.u64("epoch")
	for i := range d.u16("nodes") {
		if !d.ok() {
			return
		}
		d.str(fmt.Sprintf("[%d] address", i))
	}
	for i := range d.u32("partitions") {
		if !d.ok() {
			return
		}
		l := binary.BigEndian.Uint16(d.peek(2))
		note := fmt.Sprintf("[%d] leader=%d", i, l)
		if l == NoLeader {
			note = fmt.Sprintf("[%d] leader=none", i)
		}
		d.field(2, note)
	}
}

func (d *dumper) seqs(typ Type) {
	d.str("destination")
	d.str("group")
	switch typ {
	case TypeNack:
		d.u32("delay_ms")
	case TypeTerm:
		d.str("reason")
	}
	for range d.u32("count") {
		if !d.ok() {
			return
		}
		d.u64("seq")
	}
}

func (d *dumper) messages(count uint32, deliveries bool) {
	for i := range count {
		if !d.ok() {
			return
		}
		if deliveries {
			d.field(8, fmt.Sprintf("[%d] seq=%d", i, binary.BigEndian.Uint64(d.peek(8))))
			d.u32("attempt")
		}
		d.message(i)
	}
}

func (d *dumper) message(i uint32) {
	m, err := Message{}, error(errMessage)
	if d.ok() {
		m, _, err = ParseMessage(d.b[d.off:d.end])
	}
	d.field(16, fmt.Sprintf("[%d] id=%x", i, d.peek(16)))
	d.u64("timestamp")
	d.u64("producer")
	if w := binary.BigEndian.Uint32(d.peek(4)); w>>24 != 0 {
		d.field(4, fmt.Sprintf("flags=%d key_id=%d", w>>24, w&MaxKeyID))
	} else {
		d.u32("key_id")
	}
	crc := binary.BigEndian.Uint32(d.peek(4))
	verdict := "ok"
	if err != nil || !m.Verify() {
		verdict = "BAD"
	}
	d.field(4, fmt.Sprintf("crc=0x%08x (%s)", crc, verdict))
	n := d.u32("payload_len")
	if err == nil && m.Headers != nil {
		d.hdrBlock(m.Headers)
		n -= uint32(len(m.Headers))
	}
	if n > 0 {
		d.field(int(n), fmt.Sprintf("payload=%q", d.peek(int(min(n, 64)))))
	}
}

// hdrBlock annotates a header block field by field, or as one field when
// it breaks the rules.
func (d *dumper) hdrBlock(b []byte) {
	if err := CheckHeaderBlock(b, 0, 0); err != nil {
		d.field(len(b), fmt.Sprintf("headers (%v)", err))
		return
	}
	d.field(2, fmt.Sprintf("headers hlen=%d", binary.BigEndian.Uint16(b)))
	d.field(2, fmt.Sprintf("count=%d", binary.BigEndian.Uint16(b[2:])))
	HeaderFields(b, func(k, v []byte) bool {
		d.field(2+len(k), fmt.Sprintf("key=%q", k))
		d.field(2+len(v), fmt.Sprintf("value=%q", v))
		return true
	})
}

// parseHex reads hex digits, ignoring white space and "#" comments.
func parseHex(s string) ([]byte, error) {
	var digits strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		return nil, errors.New("bad hex: " + err.Error())
	}
	return b, nil
}
