package conformance

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file encodes and decodes frames as docs/protocol.md lays them out,
// independently of package frame. A frame's structured form is a JSON
// object: "type" (the name, as "PUBLISH_ACK"), "corr", "flags" (0 when
// absent) and the body's fields under their names in docs/protocol.md
// (docs/conformance.md lists them).

// Frame type numbers and names (docs/protocol.md §3).
var typeNames = map[uint8]string{
	1: "HELLO", 2: "HELLO_OK", 3: "PUBLISH", 4: "PUBLISH_ACK", 5: "FETCH", 6: "MESSAGES", 7: "ACK", 8: "ACK_OK",
	9: "NACK", 10: "NACK_OK", 11: "ERROR", 12: "PING", 13: "PONG", 14: "PRODUCER", 15: "PRODUCER_OK",
	16: "METADATA", 17: "METADATA_OK", 18: "TERM", 19: "PROGRESS",
}

// Error code numbers and names (docs/protocol.md §7).
var codeNames = map[uint16]string{
	0: "OK", 1: "MALFORMED", 2: "TOO_LARGE", 3: "UNSUPPORTED_VERSION", 4: "UNKNOWN_TYPE", 5: "HANDSHAKE_REQUIRED",
	6: "HANDSHAKE_TIMEOUT", 7: "IDLE_TIMEOUT", 8: "TOO_MANY_CONNECTIONS", 9: "FLOW_CONTROL", 10: "BAD_DESTINATION",
	11: "BAD_GROUP", 12: "CHECKSUM", 13: "STORAGE", 14: "DESTINATION_FULL", 15: "SHUTTING_DOWN", 16: "INTERNAL",
	17: "BAD_REQUEST", 18: "AUTH_FAILED", 19: "UNKNOWN_KEY", 20: "NOT_LEADER", 21: "SLOW_CONSUMER", 22: "DISK_FULL",
	23: "BAD_PRODUCER", 24: "PEER_REFUSED", 25: "BAD_HEADERS",
}

// HELLO_OK limit ids and names (docs/protocol.md §3, HELLO).
var limitNames = map[uint16]string{
	1: "idle_timeout_ms", 2: "handshake_timeout_ms", 3: "max_wait_ms", 4: "fetch_default", 5: "fetch_max",
	6: "max_batch", 7: "max_message", 8: "ack_timeout_ms", 9: "max_deliver", 10: "dedupe_window_ms",
	11: "dedupe_max", 12: "producer_idle_ms", 13: "write_stall_timeout_ms", 14: "max_outbound", 15: "max_progress",
	16: "max_header_bytes", 17: "max_header_count",
}

// flagHeaders is bit 0 of a message's flags, the top byte of its key_id
// word (docs/protocol.md §6): the payload region starts with a header
// block.
const flagHeaders = 1

// flagLimits is bit 0 of HELLO's and HELLO_OK's flags; flagStart bit 0 of
// FETCH's.
const (
	flagLimits = 1
	flagStart  = 1
)

func byName[K comparable](m map[K]string, name string) (K, bool) {
	for k, v := range m {
		if v == name {
			return k, true
		}
	}
	var zero K
	return zero, false
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fields reads a structured frame: getters record the first problem and
// done reports it, or a key nobody read (a misspelt field).
type fields struct {
	m    map[string]any
	used map[string]bool
	path string
	err  error
}

func newFields(m map[string]any, path string) *fields {
	return &fields{m: m, used: map[string]bool{}, path: path}
}

func (f *fields) fail(format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: %s", f.path, fmt.Sprintf(format, args...))
	}
}

func (f *fields) get(key string) (any, bool) {
	f.used[key] = true
	v, ok := f.m[key]
	return v, ok
}

// uint reads an unsigned integer of bits bits: a JSON number, or a decimal
// string (for values above 2^53). Absent is 0.
func (f *fields) uint(key string, bits int) uint64 {
	v, ok := f.get(key)
	if !ok {
		return 0
	}
	n, err := toUint(v, bits)
	if err != nil {
		f.fail("%s: %v", key, err)
	}
	return n
}

func toUint(v any, bits int) (uint64, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return 0, fmt.Errorf("%v is not an integer", v)
	}
	return strconv.ParseUint(s, 10, bits)
}

func (f *fields) str(key string) []byte {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	s, isStr := v.(string)
	if !isStr {
		f.fail("%s: %v is not a string", key, v)
	}
	return []byte(s)
}

// bytesOf reads key as text, or key_hex as hex.
func (f *fields) bytesOf(key string) []byte {
	if _, ok := f.m[key+"_hex"]; ok {
		b, err := hex.DecodeString(string(f.str(key + "_hex")))
		if err != nil {
			f.fail("%s_hex: %v", key, err)
		}
		return b
	}
	return f.str(key)
}

func (f *fields) hexN(key string, n int) []byte {
	b, err := hex.DecodeString(string(f.str(key)))
	if err != nil || len(b) != n {
		f.fail("%s: want %d bytes of hex", key, n)
		return make([]byte, n)
	}
	return b
}

func (f *fields) code(key string) uint16 {
	name := string(f.str(key))
	c, ok := byName(codeNames, name)
	if !ok {
		n, err := strconv.ParseUint(name, 10, 16)
		if err != nil {
			f.fail("%s: unknown code %q", key, name)
		}
		c = uint16(n)
	}
	return c
}

func (f *fields) list(key string) []any {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		f.fail("%s is not a list", key)
	}
	return l
}

func (f *fields) objects(key string) []*fields {
	var out []*fields
	for i, v := range f.list(key) {
		m, ok := v.(map[string]any)
		if !ok {
			f.fail("%s[%d] is not an object", key, i)
			continue
		}
		out = append(out, newFields(m, fmt.Sprintf("%s.%s[%d]", f.path, key, i)))
	}
	return out
}

func (f *fields) seqs(key string) []uint64 {
	var out []uint64
	for i, v := range f.list(key) {
		n, err := toUint(v, 64)
		if err != nil {
			f.fail("%s[%d]: %v", key, i, err)
		}
		out = append(out, n)
	}
	return out
}

func (f *fields) done() error {
	for k := range f.m {
		if !f.used[k] && f.err == nil {
			f.fail("unknown field %q", k)
		}
	}
	return f.err
}

// wire is an append-only encoder.
type wire []byte

func (w *wire) u8(v uint64)  { *w = append(*w, byte(v)) }
func (w *wire) u16(v uint64) { *w = binary.BigEndian.AppendUint16(*w, uint16(v)) }
func (w *wire) u32(v uint64) { *w = binary.BigEndian.AppendUint32(*w, uint32(v)) }
func (w *wire) u64(v uint64) { *w = binary.BigEndian.AppendUint64(*w, v) }
func (w *wire) str(b []byte) { w.u16(uint64(len(b))); *w = append(*w, b...) }

// message appends a message (docs/protocol.md §6); crc, when absent, is
// computed. flags (absent: 0) go in the top byte of the key_id word;
// headers, a list of {key, value}, sets flag 1 and starts the payload
// region with their header block.
func (w *wire) message(f *fields) {
	start := len(*w)
	*w = append(*w, f.hexN("id", 16)...)
	w.u64(f.uint("timestamp", 64))
	w.u64(f.uint("producer", 64))
	flags := f.uint("flags", 8)
	var block wire
	if _, ok := f.m["headers"]; ok {
		flags |= flagHeaders
		block = headerBlock(f)
	}
	w.u32(flags<<24 | f.uint("key_id", 24))
	w.u32(0)
	payload := f.bytesOf("payload")
	f.used["payload"], f.used["payload_hex"] = true, true
	w.u32(uint64(len(block) + len(payload)))
	*w = append(*w, block...)
	*w = append(*w, payload...)
	raw := (*w)[start:]
	crc := uint64(messageCRC(raw))
	if _, ok := f.m["crc"]; ok {
		crc = f.uint("crc", 32)
	}
	binary.BigEndian.PutUint32(raw[36:], uint32(crc))
}

// messageCRC is CRC-32C of a message but its crc field.
// headerBlock encodes f's headers: hlen u16 | count u16 | count × (key
// str | value str), hlen counting the bytes after itself.
func headerBlock(f *fields) wire {
	w := wire{0, 0}
	hs := f.objects("headers")
	w.u16(uint64(len(hs)))
	for _, h := range hs {
		w.str(h.str("key"))
		w.str(h.str("value"))
		if err := h.done(); err != nil {
			f.fail("%v", err)
		}
	}
	binary.BigEndian.PutUint16(w, uint16(len(w)-2))
	return w
}

// parseHeaderBlock reads the header block at the start of region: its
// fields as {key, value} and its length, or ok false if region does not
// start with one laid out right (or with text that is not UTF-8).
func parseHeaderBlock(region []byte) (list []any, n int, ok bool) {
	if len(region) < 4 {
		return nil, 0, false
	}
	n = int(binary.BigEndian.Uint16(region)) + 2
	if n < 4 || n > len(region) {
		return nil, 0, false
	}
	r := &reader{b: region[4:n]}
	list = []any{}
	for range binary.BigEndian.Uint16(region[2:]) {
		k, v := r.str(), r.str()
		if r.err != nil || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, 0, false
		}
		list = append(list, map[string]any{"key": k, "value": v})
	}
	return list, n, len(r.b) == 0
}

func messageCRC(raw []byte) uint32 {
	c := crc32.Update(0, castagnoli, raw[:36])
	return crc32.Update(c, castagnoli, raw[40:])
}

// encode builds the bytes of a structured frame.
func encode(m map[string]any) ([]byte, error) {
	f := newFields(m, "frame")
	name := string(f.str("type"))
	typ, ok := byName(typeNames, name)
	if !ok {
		return nil, fmt.Errorf("frame: unknown type %q", name)
	}
	flags := f.uint("flags", 16)
	w := wire{0, 0, 0, 0}
	w.u8(1)
	w.u8(uint64(typ))
	w.u16(flags)
	w.u64(f.uint("corr", 64))
	switch name {
	case "HELLO":
		w.str(f.str("client_id"))
		w.u32(f.uint("credits", 32))
		w.u32(f.uint("max_frame", 32))
	case "HELLO_OK":
		w.str(f.str("node_id"))
		w.u32(f.uint("credits", 32))
		w.u32(f.uint("max_frame", 32))
		w.u32(f.uint("partitions", 32))
		if flags&flagLimits != 0 {
			v, _ := f.get("limits")
			limits, _ := v.(map[string]any)
			names := slices.Sorted(maps.Keys(limits))
			slices.SortFunc(names, func(a, b string) int { return limitOrder(a) - limitOrder(b) })
			w.u16(uint64(len(names)))
			lf := newFields(limits, "limits")
			for _, n := range names {
				id, ok := byName(limitNames, n)
				if !ok { // a limit this runner does not know: id_<n>
					v, err := strconv.ParseUint(strings.TrimPrefix(n, "id_"), 10, 16)
					if err != nil || !strings.HasPrefix(n, "id_") {
						return nil, fmt.Errorf("frame: unknown limit %q", n)
					}
					id = uint16(v)
				}
				w.u16(uint64(id))
				w.u64(lf.uint(n, 64))
			}
			if err := lf.done(); err != nil {
				return nil, err
			}
		}
	case "PUBLISH":
		w.str(f.str("destination"))
		msgs := f.objects("messages")
		w.u32(uint64(len(msgs)))
		for _, mf := range msgs {
			w.message(mf)
			if err := mf.done(); err != nil {
				return nil, err
			}
		}
	case "PUBLISH_ACK":
		entries := f.objects("entries")
		w.u32(uint64(len(entries)))
		for _, ef := range entries {
			w.u16(uint64(ef.code("code")))
			w.u16(ef.uint("flags", 16))
			w.u64(ef.uint("seq", 64))
			if err := ef.done(); err != nil {
				return nil, err
			}
		}
	case "FETCH":
		w.str(f.str("destination"))
		w.str(f.str("group"))
		w.u32(f.uint("max", 32))
		w.u32(f.uint("wait_ms", 32))
		if flags&flagStart != 0 {
			w.u8(f.uint("start", 8))
			w.u64(f.uint("start_at", 64))
		}
	case "MESSAGES":
		ds := f.objects("deliveries")
		w.u32(uint64(len(ds)))
		for _, df := range ds {
			w.u64(df.uint("seq", 64))
			w.u32(df.uint("attempt", 32))
			w.message(df)
			if err := df.done(); err != nil {
				return nil, err
			}
		}
	case "ACK", "NACK", "TERM", "PROGRESS":
		w.str(f.str("destination"))
		w.str(f.str("group"))
		switch name {
		case "NACK":
			w.u32(f.uint("delay_ms", 32))
		case "TERM":
			w.str(f.bytesOf("reason"))
			f.used["reason"], f.used["reason_hex"] = true, true
		}
		seqs := f.seqs("seqs")
		w.u32(uint64(len(seqs)))
		for _, s := range seqs {
			w.u64(s)
		}
	case "ACK_OK", "NACK_OK":
		w.u32(f.uint("count", 32))
	case "ERROR":
		w.u16(uint64(f.code("code")))
		w.str(f.str("message"))
	case "PING", "PONG", "METADATA":
	case "PRODUCER", "PRODUCER_OK":
		w.u64(f.uint("id", 64))
		w = append(w, f.hexN("token", 16)...)
		if name == "PRODUCER_OK" {
			w.u32(f.uint("window", 32))
		}
	case "METADATA_OK":
		w.u64(f.uint("epoch", 64))
		nodes := f.list("nodes")
		w.u16(uint64(len(nodes)))
		for _, n := range nodes {
			s, _ := n.(string)
			w.str([]byte(s))
		}
		leaders := f.seqs("leaders")
		w.u32(uint64(len(leaders)))
		for _, l := range leaders {
			w.u16(l)
		}
	}
	if err := f.done(); err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(w, uint32(len(w)-4))
	return w, nil
}

// limitOrder sorts limits as a SwarmMQ node lists them, so that an
// encoded HELLO_OK is the node's bytes (a client must accept any order).
func limitOrder(name string) int {
	order := []string{"idle_timeout_ms", "handshake_timeout_ms", "max_message", "max_batch", "write_stall_timeout_ms",
		"max_outbound", "max_wait_ms", "fetch_default", "fetch_max", "ack_timeout_ms", "max_deliver",
		"dedupe_window_ms", "dedupe_max", "producer_idle_ms", "max_progress", "max_header_bytes", "max_header_count"}
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

// reader is a bounds-checked cursor; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errors.New("body is truncated")
		return make([]byte, min(n, 8)) // enough for the caller's integer
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint64  { return uint64(r.take(1)[0]) }
func (r *reader) u16() uint64 { return uint64(binary.BigEndian.Uint16(r.take(2))) }
func (r *reader) u32() uint64 { return uint64(binary.BigEndian.Uint32(r.take(4))) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) str() string { return string(r.take(int(r.u16()))) }

// num is a decoded integer in the structured form: a JSON number, or a
// decimal string above 2^53 (where JSON numbers lose precision).
func num(v uint64) any {
	if v > 1<<53 {
		return strconv.FormatUint(v, 10)
	}
	return json.Number(strconv.FormatUint(v, 10))
}

func codeName(c uint64) string {
	if n, ok := codeNames[uint16(c)]; ok {
		return n
	}
	return strconv.FormatUint(c, 10)
}

// messageFields decodes a message into m; crc is left out when it is
// right (the structured form's default) and given when it is wrong.
func (r *reader) message(m map[string]any) {
	raw := r.b
	m["id"] = hex.EncodeToString(r.take(16))
	m["timestamp"] = num(r.u64())
	m["producer"] = num(r.u64())
	word := r.u32()
	m["key_id"] = num(word & (1<<24 - 1))
	crc := r.u32()
	payload := r.take(int(r.u32()))
	if r.err == nil && uint32(crc) != messageCRC(raw[:len(raw)-len(r.b)]) {
		m["crc"] = num(crc)
	}
	if flags := word >> 24; flags != 0 {
		if list, n, ok := parseHeaderBlock(payload); ok && flags&flagHeaders != 0 {
			m["headers"], payload = list, payload[n:]
			flags &^= flagHeaders
		}
		if flags != 0 {
			m["flags"] = num(flags)
		}
	}
	if utf8.Valid(payload) {
		m["payload"] = string(payload)
	} else {
		m["payload_hex"] = hex.EncodeToString(payload)
	}
}

// decode returns the structured form of a whole frame (its length field
// included), or an error if its body does not have its type's layout.
func decode(b []byte) (map[string]any, error) {
	if len(b) < 16 {
		return nil, errors.New("frame shorter than its header")
	}
	typ := b[5]
	name, ok := typeNames[typ]
	if !ok {
		return nil, fmt.Errorf("unknown frame type %d", typ)
	}
	flags := uint64(binary.BigEndian.Uint16(b[6:]))
	m := map[string]any{"type": name, "corr": num(binary.BigEndian.Uint64(b[8:]))}
	if flags != 0 {
		m["flags"] = num(flags)
	}
	r := &reader{b: b[16:]}
	switch name {
	case "HELLO":
		m["client_id"], m["credits"], m["max_frame"] = r.str(), num(r.u32()), num(r.u32())
	case "HELLO_OK":
		m["node_id"], m["credits"], m["max_frame"], m["partitions"] = r.str(), num(r.u32()), num(r.u32()), num(r.u32())
		if flags&flagLimits != 0 {
			limits := map[string]any{}
			for range r.u16() {
				id := r.u16()
				n, ok := limitNames[uint16(id)]
				if !ok {
					n = "id_" + strconv.FormatUint(id, 10)
				}
				limits[n] = num(r.u64())
			}
			m["limits"] = limits
		}
	case "PUBLISH":
		m["destination"] = r.str()
		var msgs []any
		for range min(r.u32(), math.MaxInt32) {
			mm := map[string]any{}
			r.message(mm)
			if r.err != nil {
				break
			}
			msgs = append(msgs, mm)
		}
		m["messages"] = orEmpty(msgs)
	case "PUBLISH_ACK":
		var entries []any
		for range min(r.u32(), math.MaxInt32) {
			e := map[string]any{"code": codeName(r.u16())}
			if fl := r.u16(); fl != 0 {
				e["flags"] = num(fl)
			}
			e["seq"] = num(r.u64())
			if r.err != nil {
				break
			}
			entries = append(entries, e)
		}
		m["entries"] = orEmpty(entries)
	case "FETCH":
		m["destination"], m["group"], m["max"], m["wait_ms"] = r.str(), r.str(), num(r.u32()), num(r.u32())
		if flags&flagStart != 0 {
			m["start"], m["start_at"] = num(r.u8()), num(r.u64())
		}
	case "MESSAGES":
		var ds []any
		for range min(r.u32(), math.MaxInt32) {
			d := map[string]any{"seq": num(r.u64()), "attempt": num(r.u32())}
			r.message(d)
			if r.err != nil {
				break
			}
			ds = append(ds, d)
		}
		m["deliveries"] = orEmpty(ds)
	case "ACK", "NACK", "TERM", "PROGRESS":
		m["destination"], m["group"] = r.str(), r.str()
		switch name {
		case "NACK":
			m["delay_ms"] = num(r.u32())
		case "TERM":
			if reason := r.str(); utf8.ValidString(reason) {
				m["reason"] = reason
			} else {
				m["reason_hex"] = hex.EncodeToString([]byte(reason))
			}
		}
		var seqs []any
		for range min(r.u32(), math.MaxInt32) {
			seqs = append(seqs, num(r.u64()))
			if r.err != nil {
				break
			}
		}
		m["seqs"] = orEmpty(seqs)
	case "ACK_OK", "NACK_OK":
		m["count"] = num(r.u32())
	case "ERROR":
		m["code"], m["message"] = codeName(r.u16()), r.str()
	case "PRODUCER", "PRODUCER_OK":
		m["id"], m["token"] = num(r.u64()), hex.EncodeToString(r.take(16))
		if name == "PRODUCER_OK" {
			m["window"] = num(r.u32())
		}
	case "METADATA_OK":
		m["epoch"] = num(r.u64())
		nodes := []any{}
		for range r.u16() {
			nodes = append(nodes, r.str())
		}
		leaders := []any{}
		for range r.u32() {
			leaders = append(leaders, num(r.u16()))
			if r.err != nil {
				break
			}
		}
		m["nodes"], m["leaders"] = nodes, leaders
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("bytes after the end of the body")
	}
	if r.err != nil {
		return nil, fmt.Errorf("%s: %w", name, r.err)
	}
	return m, nil
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

// parseHex reads hex digits, ignoring white space.
func parseHex(s string) ([]byte, error) {
	return hex.DecodeString(strings.Join(strings.Fields(s), ""))
}

// formatHex prints b as space-separated byte pairs, the form of the
// scenarios' "hex" fields.
func formatHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}
