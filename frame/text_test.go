package frame

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file holds the text form of a testFrame used by the datadriven
// files: one line "TYPE key=value ..." and, for batches, one indented line
// per item ("msg", "delivery" or "entry"). Byte strings are Go-quoted.
//
//	PUBLISH corr=2 destination="test-queue"
//	  msg id=000102030405060708090a0b0c0d0e0f timestamp=1 producer=7 key_id=0 payload="hi"

// formatFrame prints tf. With verify set, each message line ends with
// "verify=ok" or "verify=BAD" (the result of Message.Verify).
func formatFrame(tf testFrame, verify bool) string {
	var sb strings.Builder
	sb.WriteString(tf.Type.String())
	if tf.Flags != 0 {
		fmt.Fprintf(&sb, " flags=%d", tf.Flags)
	}
	fmt.Fprintf(&sb, " corr=%d", tf.Corr)
	switch b := tf.Body.(type) {
	case Hello:
		fmt.Fprintf(&sb, " client_id=%q credits=%d max_frame=%d", b.ClientID, b.Credits, b.MaxFrame)
	case HelloOK:
		fmt.Fprintf(&sb, " node_id=%q credits=%d max_frame=%d partitions=%d",
			b.NodeID, b.Credits, b.MaxFrame, b.Partitions)
		if b.Limits != nil {
			sb.WriteString(" limits=" + formatLimits(b.Limits))
		}
	case publishBody:
		fmt.Fprintf(&sb, " destination=%q", b.Dest)
		for _, m := range b.Msgs {
			sb.WriteString("\n  msg" + formatMessage(m, verify))
		}
	case publishAckBody:
		for _, e := range b.Entries {
			fmt.Fprintf(&sb, "\n  entry code=%s flags=%d seq=%d", e.Code, e.Flags, e.Seq)
		}
	case Fetch:
		fmt.Fprintf(&sb, " destination=%q group=%q max=%d wait_ms=%d",
			b.Destination, b.Group, b.Max, b.WaitMS)
		if b.Start != 0 {
			fmt.Fprintf(&sb, " start=%d start_at=%d", b.Start, b.StartAt)
		}
	case messagesBody:
		for _, d := range b.Deliveries {
			fmt.Fprintf(&sb, "\n  delivery seq=%d attempt=%d%s", d.Seq, d.Attempt, formatMessage(d.Msg, verify))
		}
	case ackBody:
		fmt.Fprintf(&sb, " destination=%q group=%q seqs=%s", b.Dest, b.Group, formatSeqs(b.Seqs))
	case nackBody:
		fmt.Fprintf(&sb, " destination=%q group=%q delay_ms=%d seqs=%s",
			b.Dest, b.Group, b.DelayMS, formatSeqs(b.Seqs))
	case termBody:
		fmt.Fprintf(&sb, " destination=%q group=%q reason=%q seqs=%s", b.Dest, b.Group, b.Reason, formatSeqs(b.Seqs))
	case progressBody:
		fmt.Fprintf(&sb, " destination=%q group=%q seqs=%s", b.Dest, b.Group, formatSeqs(b.Seqs))
	case countBody:
		fmt.Fprintf(&sb, " count=%d", b.Count)
	case errorBody:
		fmt.Fprintf(&sb, " code=%s message=%q", b.Code, b.Msg)
	case Producer:
		fmt.Fprintf(&sb, " id=%d token=%x", b.ID, b.Token)
	case ProducerOK:
		fmt.Fprintf(&sb, " id=%d token=%x window=%d", b.ID, b.Token, b.Window)
	case Metadata:
		fmt.Fprintf(&sb, " epoch=%d leaders=%s", b.Epoch, formatLeaders(b.Leaders))
		for _, n := range b.Nodes {
			fmt.Fprintf(&sb, "\n  node address=%q", n)
		}
	}
	return sb.String()
}

// formatMessage prints a message; a header block prints as
// headers="key: value\n…" when it follows the rules and no value holds a
// newline, else as headers_hex (with flags=1 and no headers key meaning a
// flag without a block, as a decoder split it).
func formatMessage(m Message, verify bool) string {
	s := fmt.Sprintf(" id=%x timestamp=%d producer=%d key_id=%d", m.ID, m.Timestamp, m.Producer, m.KeyID)
	if m.Flags != 0 {
		s += fmt.Sprintf(" flags=%d", m.Flags)
	}
	if m.Headers != nil {
		s += formatHeaders(m.Headers)
	}
	s += fmt.Sprintf(" crc=0x%08x payload=%q", m.CRC, m.Payload)
	if verify {
		s += map[bool]string{true: " verify=ok", false: " verify=BAD"}[m.Verify()]
		if err := m.CheckFlags(0, 0); err != nil {
			s += fmt.Sprintf(" check=%q", err.(*Error).Msg)
		}
	}
	return s
}

func formatHeaders(b []byte) string {
	if CheckHeaderBlock(b, 0, 0) != nil || strings.Contains(string(b), "\n") {
		return fmt.Sprintf(" headers_hex=%x", b)
	}
	var lines []string
	HeaderFields(b, func(k, v []byte) bool {
		lines = append(lines, string(k)+": "+string(v))
		return true
	})
	return fmt.Sprintf(" headers=%q", strings.Join(lines, "\n"))
}

// parseHeaders reads the headers text of formatHeaders back into a block.
func parseHeaders(text string) ([]byte, error) {
	b := StartHeaderBlock(nil)
	for line := range strings.SplitSeq(text, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("headers: want \"key: value\" lines, got %q", line)
		}
		b = AppendHeaderField(b, 0, k, v)
	}
	return b, nil
}

// formatLimits prints HELLO_OK's limits as name:value,...; an ID this
// version does not know prints as its number.
func formatLimits(limits []Limit) string {
	s := make([]string, len(limits))
	for i, l := range limits {
		name := strconv.Itoa(int(l.ID))
		if l.ID.Known() {
			name = l.ID.String()
		}
		s[i] = name + ":" + strconv.FormatUint(l.Value, 10)
	}
	return strings.Join(s, ",")
}

// parseLimits reads formatLimits' form (a name or a number before each
// colon); "" is an empty list.
func parseLimits(v string) ([]Limit, error) {
	limits := []Limit{}
	for item := range strings.SplitSeq(v, ",") {
		if item == "" {
			continue
		}
		name, value, _ := strings.Cut(item, ":")
		id, ok := LimitByName(name)
		if !ok {
			n, err := strconv.ParseUint(name, 0, 16)
			if err != nil {
				return nil, fmt.Errorf("limits: unknown limit %q", name)
			}
			id = LimitID(n)
		}
		n, err := strconv.ParseUint(value, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("limits: %v", err)
		}
		limits = append(limits, Limit{ID: id, Value: n})
	}
	return limits, nil
}

// formatLeaders prints a METADATA_OK's leader indexes, "-" for NoLeader.
func formatLeaders(leaders []uint16) string {
	s := make([]string, len(leaders))
	for i, l := range leaders {
		s[i] = strconv.Itoa(int(l))
		if l == NoLeader {
			s[i] = "-"
		}
	}
	return strings.Join(s, ",")
}

func formatSeqs(seqs []uint64) string {
	s := make([]string, len(seqs))
	for i, v := range seqs {
		s[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(s, ",")
}

// parseFrame reads the text form. A message without crc= gets the CRC of
// its fields (computed by naiveCRC, independently of the package).
func parseFrame(text string) (testFrame, error) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	first, err := parseFields(lines[0])
	if err != nil {
		return testFrame{}, err
	}
	typ, ok := typeByName(first.word)
	if !ok {
		return testFrame{}, fmt.Errorf("unknown frame type %q", first.word)
	}
	tf := testFrame{Header: Header{Version: Version, Type: typ}}
	tf.Flags = uint16(first.uint("flags", 16))
	tf.Corr = first.uint("corr", 64)
	tf.Body, err = parseBody(typ, first, lines[1:])
	if err != nil {
		return testFrame{}, err
	}
	return tf, first.done()
}

func parseBody(typ Type, f *fields, items []string) (any, error) {
	if typ != TypePublish && typ != TypeMessages && typ != TypePublishAck && typ != TypeMetadataOK && len(items) > 0 {
		return nil, fmt.Errorf("%v takes no item lines", typ)
	}
	switch typ {
	case TypeHello:
		return Hello{ClientID: f.bytes("client_id"), Credits: uint32(f.uint("credits", 32)),
			MaxFrame: uint32(f.uint("max_frame", 32)), WantLimits: f.uint("flags", 16)&uint64(FlagLimits) != 0}, nil
	case TypeHelloOK:
		h := HelloOK{NodeID: f.bytes("node_id"), Credits: uint32(f.uint("credits", 32)),
			MaxFrame: uint32(f.uint("max_frame", 32)), Partitions: uint32(f.uint("partitions", 32))}
		if f.uint("flags", 16)&uint64(FlagLimits) != 0 {
			v, _ := f.get("limits")
			var err error
			if h.Limits, err = parseLimits(v); err != nil {
				return nil, err
			}
		}
		return h, nil
	case TypePublish, TypeMessages, TypePublishAck:
		return parseItems(typ, f, items)
	case TypeFetch:
		return Fetch{Destination: f.bytes("destination"), Group: f.bytes("group"),
			Max: uint32(f.uint("max", 32)), WaitMS: uint32(f.uint("wait_ms", 32)),
			Start: uint8(f.uint("start", 8)), StartAt: f.uint("start_at", 64)}, nil
	case TypeAck:
		return ackBody{Dest: f.bytes("destination"), Group: f.bytes("group"), Seqs: f.seqs("seqs")}, nil
	case TypeNack:
		return nackBody{Dest: f.bytes("destination"), Group: f.bytes("group"),
			DelayMS: uint32(f.uint("delay_ms", 32)), Seqs: f.seqs("seqs")}, nil
	case TypeTerm:
		return termBody{Dest: f.bytes("destination"), Group: f.bytes("group"), Reason: f.bytes("reason"),
			Seqs: f.seqs("seqs")}, nil
	case TypeProgress:
		return progressBody{Dest: f.bytes("destination"), Group: f.bytes("group"), Seqs: f.seqs("seqs")}, nil
	case TypeAckOK, TypeNackOK:
		return countBody{Count: uint32(f.uint("count", 32))}, nil
	case TypeError:
		return errorBody{Code: f.code("code"), Msg: f.bytes("message")}, nil
	case TypeProducer:
		return Producer{ID: f.uint("id", 64), Token: f.token("token")}, nil
	case TypeProducerOK:
		return ProducerOK{ID: f.uint("id", 64), Token: f.token("token"), Window: uint32(f.uint("window", 32))}, nil
	case TypeMetadataOK:
		return parseMetadata(f, items)
	}
	return nil, nil
}

func parseItems(typ Type, f *fields, items []string) (any, error) {
	var pb publishBody
	var mb messagesBody
	var ab publishAckBody
	pb.Dest = f.bytes("destination")
	for _, line := range items {
		it, err := parseFields(line)
		if err != nil {
			return nil, err
		}
		switch {
		case typ == TypePublish && it.word == "msg":
			pb.Msgs = append(pb.Msgs, it.message())
		case typ == TypeMessages && it.word == "delivery":
			d := delivery{Seq: it.uint("seq", 64), Attempt: uint32(it.uint("attempt", 32))}
			d.Msg = it.message()
			mb.Deliveries = append(mb.Deliveries, d)
		case typ == TypePublishAck && it.word == "entry":
			ab.Entries = append(ab.Entries, AckEntry{Code: it.code("code"),
				Flags: uint16(it.uint("flags", 16)), Seq: it.uint("seq", 64)})
		default:
			return nil, fmt.Errorf("unexpected item %q in %v", it.word, typ)
		}
		if err := it.done(); err != nil {
			return nil, err
		}
	}
	switch typ {
	case TypePublish:
		return pb, nil
	case TypeMessages:
		return mb, nil
	}
	return ab, nil
}

// parseMetadata reads METADATA_OK: epoch=N leaders=i,j,- and one
// "node address=..." line per node of the table.
func parseMetadata(f *fields, items []string) (any, error) {
	m := Metadata{Epoch: f.uint("epoch", 64)}
	v, _ := f.get("leaders")
	for s := range strings.SplitSeq(v, ",") {
		switch s {
		case "":
			continue
		case "-":
			m.Leaders = append(m.Leaders, NoLeader)
			continue
		}
		n, err := strconv.ParseUint(s, 0, 16)
		if err != nil {
			return nil, fmt.Errorf("leaders: %v", err)
		}
		m.Leaders = append(m.Leaders, uint16(n))
	}
	for _, line := range items {
		it, err := parseFields(line)
		if err != nil {
			return nil, err
		}
		if it.word != "node" {
			return nil, fmt.Errorf("unexpected item %q in METADATA_OK", it.word)
		}
		m.Nodes = append(m.Nodes, it.bytes("address"))
		if err := it.done(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func typeByName(s string) (Type, bool) {
	for t := TypeHello; t <= TypeProgress; t++ {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

// fields is one parsed line: a leading word and key=value pairs. Getters
// record the first error; done reports it, or a key nobody asked for.
type fields struct {
	word string
	kv   map[string]string
	used map[string]bool
	err  error
}

func parseFields(line string) (*fields, error) {
	toks, err := splitQuoted(strings.TrimSpace(line))
	if err != nil || len(toks) == 0 {
		return nil, fmt.Errorf("cannot parse %q: %v", line, err)
	}
	f := &fields{word: toks[0], kv: map[string]string{}, used: map[string]bool{}}
	for _, tok := range toks[1:] {
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", tok)
		}
		if strings.HasPrefix(v, `"`) {
			if v, err = strconv.Unquote(v); err != nil {
				return nil, fmt.Errorf("%s: %v", k, err)
			}
		}
		f.kv[k] = v
	}
	return f, nil
}

// splitQuoted splits on spaces outside double quotes.
func splitQuoted(s string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				toks = append(toks, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if cur.Len() > 0 {
		toks = append(toks, cur.String())
	}
	return toks, nil
}

func (f *fields) get(key string) (string, bool) {
	v, ok := f.kv[key]
	f.used[key] = true
	return v, ok
}

func (f *fields) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

func (f *fields) bytes(key string) []byte {
	v, _ := f.get(key)
	return own([]byte(v))
}

func (f *fields) uint(key string, bits int) uint64 {
	v, ok := f.get(key)
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(v, 0, bits)
	if err != nil {
		f.fail(fmt.Errorf("%s: %v", key, err))
	}
	return n
}

func (f *fields) code(key string) Code {
	v, _ := f.get(key)
	for c := range Code(len(codeNames)) {
		if c.String() == v {
			return c
		}
	}
	n, err := strconv.ParseUint(v, 0, 16)
	if err != nil {
		f.fail(fmt.Errorf("%s: unknown code %q", key, v))
	}
	return Code(n)
}

// token reads a producer token as 32 hex digits (absent: zero).
func (f *fields) token(key string) [TokenSize]byte {
	var t [TokenSize]byte
	v, ok := f.get(key)
	if !ok {
		return t
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != TokenSize {
		f.fail(fmt.Errorf("%s: want %d hex digits, got %q", key, 2*TokenSize, v))
	}
	copy(t[:], b)
	return t
}

func (f *fields) seqs(key string) []uint64 {
	v, _ := f.get(key)
	var seqs []uint64
	for s := range strings.SplitSeq(v, ",") {
		if s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			f.fail(fmt.Errorf("%s: %v", key, err))
		}
		seqs = append(seqs, n)
	}
	return seqs
}

func (f *fields) message() Message {
	var m Message
	if v, ok := f.get("id"); ok {
		id, err := hex.DecodeString(v)
		if err != nil || len(id) != len(m.ID) {
			f.fail(fmt.Errorf("id: want 32 hex digits, got %q", v))
		}
		copy(m.ID[:], id)
	}
	m.Timestamp = int64(f.uint("timestamp", 64))
	m.Producer = f.uint("producer", 64)
	m.KeyID = uint32(f.uint("key_id", 24))
	m.Flags = uint8(f.uint("flags", 8))
	if v, ok := f.get("headers"); ok {
		b, err := parseHeaders(v)
		if err != nil {
			f.fail(err)
		}
		m.Headers = b
	}
	if v, ok := f.get("headers_hex"); ok {
		b, err := hex.DecodeString(v)
		if err != nil {
			f.fail(fmt.Errorf("headers_hex: %v", err))
		}
		m.Headers = append([]byte{}, b...)
	}
	m.Payload = f.bytes("payload")
	m.CRC = naiveCRC(m)
	if _, ok := f.kv["crc"]; ok {
		m.CRC = uint32(f.uint("crc", 32))
	}
	f.get("verify") // printed by decode; ignored here
	f.get("check")
	return m
}

func (f *fields) done() error {
	if f.err != nil {
		return f.err
	}
	for k := range f.kv {
		if !f.used[k] {
			return fmt.Errorf("%s: unknown key %q", f.word, k)
		}
	}
	return nil
}
