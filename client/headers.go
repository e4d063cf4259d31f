package client

import (
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/swarmmq/swarmmq/frame"
)

// Headers are a message's header fields: keys (exact case, never
// canonicalized: "Content-Type" and "content-type" are two keys) with
// their values, in the order added. Like http.Header it is a map, so a nil
// Headers reads as empty and `Headers{"k": {"v"}}` is a literal; unlike
// it, keys keep their case. A message sends its fields sorted by key
// (bytewise), the values of a key in their order, so equal Headers always
// encode to equal bytes.
//
// Rules (docs/protocol.md §6): a key is 1-255 bytes of RFC 9110 token
// characters (letters, digits and !#$%&'*+-.^_`|~), a value is valid
// UTF-8 (it may be empty); a key may have several values. A message's
// header block is bounded by the node's Limits.MaxHeaderBytes and
// MaxHeaderCount (16 KiB and 64 fields on a SwarmMQ node). Headers are
// authenticated with the payload when the Client seals, but never
// encrypted: brokers and tracers read them.
//
// A Headers is not safe for concurrent mutation; a Delivery's Headers are
// its own and only read.
type Headers map[string][]string

// Get returns the first value of key, or "" if it has none.
func (h Headers) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns the values of key in order, nil if it has none. The
// slice is h's own.
func (h Headers) Values(key string) []string { return h[key] }

// Set makes value the only value of key.
func (h Headers) Set(key, value string) { h[key] = []string{value} }

// Add appends value to the values of key.
func (h Headers) Add(key, value string) { h[key] = append(h[key], value) }

// Del removes key and its values.
func (h Headers) Del(key string) { delete(h, key) }

// Clone returns a copy of h that shares no memory with it (nil for nil).
func (h Headers) Clone() Headers {
	if h == nil {
		return nil
	}
	c := make(Headers, len(h))
	for k, v := range h {
		c[k] = slices.Clone(v)
	}
	return c
}

// headerBounds are the limits a header block is checked against.
type headerBounds struct {
	maxBytes, maxCount int
}

// headerBounds returns the bounds of the node of the latest handshake: the
// protocol's when it listed none yet (before any handshake), and an error
// when the node listed its limits without header ones (it predates them).
func (c *Client) headerBounds() (headerBounds, error) {
	l := c.Limits()
	switch {
	case !l.Listed:
		return headerBounds{frame.MaxHeaderBytes, frame.MaxHeaderCount}, nil
	case l.MaxHeaderBytes == 0 || l.MaxHeaderCount == 0:
		return headerBounds{}, &frame.Error{Code: frame.CodeBadHeaders,
			Msg: fmt.Sprintf("node %s does not accept message headers (it lists no max_header_bytes)", l.NodeID)}
	}
	return headerBounds{l.MaxHeaderBytes, l.MaxHeaderCount}, nil
}

// encodeHeaders returns h's header block (nil when h has no values), or
// an error naming the first rule it breaks.
func (c *Client) encodeHeaders(h Headers) ([]byte, error) {
	n := 0
	for _, v := range h {
		n += len(v)
	}
	if n == 0 {
		return nil, nil
	}
	b, err := c.headerBounds()
	if err != nil {
		return nil, err
	}
	return appendHeaders(nil, h, b)
}

// appendHeaders appends h's header block to dst: keys sorted, each key's
// values in order. It checks every rule and bound first.
func appendHeaders(dst []byte, h Headers, b headerBounds) ([]byte, error) {
	keys := make([]string, 0, len(h))
	count, size := 0, 4
	for k, v := range h {
		if len(v) == 0 {
			continue
		}
		if !frame.ValidHeaderKey(k) {
			return dst, badHeaders("header key %q: want 1-255 bytes of letters, digits and !#$%%&'*+-.^_`|~", k)
		}
		for _, s := range v {
			if !utf8.ValidString(s) {
				return dst, badHeaders("header %s: value is not valid UTF-8", k)
			}
			size += 4 + len(k) + len(s)
		}
		count += len(v)
		keys = append(keys, k)
	}
	switch {
	case count > b.maxCount:
		return dst, badHeaders("%d header fields, the node accepts at most %d", count, b.maxCount)
	case size > b.maxBytes:
		return dst, badHeaders("headers take %d bytes encoded, the node accepts at most %d", size, b.maxBytes)
	}
	slices.Sort(keys)
	start := len(dst)
	dst = frame.StartHeaderBlock(dst)
	for _, k := range keys {
		for _, v := range h[k] {
			dst = frame.AppendHeaderField(dst, start, k, v)
		}
	}
	return dst, nil
}

func badHeaders(format string, args ...any) error {
	return &frame.Error{Code: frame.CodeBadHeaders, Msg: fmt.Sprintf(format, args...)}
}

// decodeHeaders returns the Headers of a delivered message's header block
// (nil for none), or why the message must be withheld: flags this
// version does not know, or a block that breaks the rules (a SwarmMQ
// node never stores one). The size bounds are the node's to enforce: a
// delivery is held only to what the block's own length fields allow.
func decodeHeaders(m *frame.Message) (Headers, error) {
	if m.Flags == 0 {
		return nil, nil
	}
	if err := m.CheckFlags(math.MaxUint16+2, math.MaxUint16); err != nil {
		return nil, err
	}
	h := make(Headers)
	frame.HeaderFields(m.Headers, func(k, v []byte) bool {
		h.Add(string(k), string(v))
		return true
	})
	return h, nil
}
