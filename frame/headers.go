package frame

import (
	"encoding/binary"
	"unicode/utf8"
)

// Message flags live in the top byte of a message's key_id word; the key
// id is its low 24 bits (docs/protocol.md §6). A message with no flag set
// is byte for byte what it was before flags existed.
const (
	// FlagHeaders says that the payload region starts with a header block.
	FlagHeaders uint8 = 0x01
	// knownFlags are the message flags this version understands.
	knownFlags = FlagHeaders
	// MaxKeyID is the largest key id: the low 24 bits of key_id.
	MaxKeyID = 1<<24 - 1
)

// Bounds of a header block, enforced by every SwarmMQ node and listed in
// HELLO_OK (LimitMaxHeaderBytes, LimitMaxHeaderCount).
const (
	// MaxHeaderBytes is the largest header block, its length fields
	// included.
	MaxHeaderBytes = 16 << 10
	// MaxHeaderCount is the most fields in one header block.
	MaxHeaderCount = 64
	// MaxHeaderKey is the longest header key.
	MaxHeaderKey = 255
)

// headerBlockFixed is the size of a header block's length and count.
const headerBlockFixed = 4

// Errors of CheckHeaderBlock, allocated once.
var (
	errHeadersShort = &Error{Code: CodeBadHeaders, Msg: "header block is truncated"}
	errHeadersLen   = &Error{Code: CodeBadHeaders, Msg: "header block length does not match its fields"}
	errHeadersEmpty = &Error{Code: CodeBadHeaders, Msg: "header block has no fields (leave FlagHeaders unset)"}
	errHeadersBytes = &Error{Code: CodeBadHeaders, Msg: "header block is larger than max_header_bytes"}
	errHeadersCount = &Error{Code: CodeBadHeaders, Msg: "header block has more fields than max_header_count"}
	errHeaderKey    = &Error{Code: CodeBadHeaders, Msg: "header key must be 1-255 bytes of RFC 9110 token characters"}
	errHeaderValue  = &Error{Code: CodeBadHeaders, Msg: "header value is not valid UTF-8"}
	errMsgFlags     = &Error{Code: CodeBadHeaders, Msg: "message flags hold a bit this version does not know"}
)

// StartHeaderBlock appends an empty header block (length and count 0) to
// dst; AppendHeaderField adds fields to it. A block is written
//
//	hlen u16 | count u16 | count × (key str | value str)
//
// where hlen counts the bytes after itself (count and fields) and a str
// is a u16 length and its bytes.
func StartHeaderBlock(dst []byte) []byte {
	return append(dst, 0, 2, 0, 0)
}

// AppendHeaderField appends key and value to the header block that starts
// at dst[start:] and updates its length and count. It does not check the
// rules (CheckHeaderBlock does); a key or value longer than 65535 bytes is
// cut, and a block past 65535 bytes gets a wrong length, which
// CheckHeaderBlock refuses.
func AppendHeaderField(dst []byte, start int, key, value string) []byte {
	dst = appendStr(dst, []byte(key))
	dst = appendStr(dst, []byte(value))
	blk := dst[start:]
	binary.BigEndian.PutUint16(blk, uint16(len(blk)-2))
	binary.BigEndian.PutUint16(blk[2:], binary.BigEndian.Uint16(blk[2:])+1)
	return dst
}

// CheckHeaderBlock reports whether b is exactly one header block that
// follows the rules of docs/protocol.md §6: at most maxBytes bytes and
// maxCount fields (0: the protocol's MaxHeaderBytes and MaxHeaderCount),
// at least one field, every key 1-255 bytes of RFC 9110 token characters,
// every value valid UTF-8. Keys may repeat. Errors are *Error with
// CodeBadHeaders; it never panics or allocates.
func CheckHeaderBlock(b []byte, maxBytes, maxCount int) error {
	if maxBytes <= 0 {
		maxBytes = MaxHeaderBytes
	}
	if maxCount <= 0 {
		maxCount = MaxHeaderCount
	}
	if len(b) < headerBlockFixed {
		return errHeadersShort
	}
	if int(binary.BigEndian.Uint16(b))+2 != len(b) {
		return errHeadersLen
	}
	if len(b) > maxBytes {
		return errHeadersBytes
	}
	count := int(binary.BigEndian.Uint16(b[2:]))
	switch {
	case count == 0:
		return errHeadersEmpty
	case count > maxCount:
		return errHeadersCount
	}
	r := reader{b: b, off: headerBlockFixed}
	for range count {
		k, v := r.str(), r.str()
		if r.err != nil {
			return errHeadersLen
		}
		if !validHeaderKey(k) {
			return errHeaderKey
		}
		if !utf8.Valid(v) {
			return errHeaderValue
		}
	}
	if r.off != len(b) {
		return errHeadersLen
	}
	return nil
}

// validHeaderKey reports whether k is 1-255 token characters.
func validHeaderKey(k []byte) bool {
	if len(k) == 0 || len(k) > MaxHeaderKey {
		return false
	}
	for _, c := range k {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// ValidHeaderKey reports whether k may be a header key: 1-255 bytes of
// RFC 9110 token characters (letters, digits and !#$%&'*+-.^_`|~).
func ValidHeaderKey(k string) bool { return validHeaderKey([]byte(k)) }

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// HeaderFields calls yield with each key and value of the header block b,
// in wire order, until yield returns false. The views point into b. b
// must have passed CheckHeaderBlock; on a malformed block it stops early
// (it never panics).
func HeaderFields(b []byte, yield func(key, value []byte) bool) {
	if len(b) < headerBlockFixed {
		return
	}
	r := reader{b: b, off: headerBlockFixed}
	for range binary.BigEndian.Uint16(b[2:]) {
		k, v := r.str(), r.str()
		if r.err != nil || !yield(k, v) {
			return
		}
	}
}

// CheckFlags reports whether m's flags are ones this version knows, and
// its header block, if any, follows the rules (see CheckHeaderBlock).
func (m Message) CheckFlags(maxBytes, maxCount int) error {
	if m.Flags&^knownFlags != 0 {
		return errMsgFlags
	}
	if m.Flags&FlagHeaders == 0 {
		return nil
	}
	return CheckHeaderBlock(m.Headers, maxBytes, maxCount)
}

// splitRegion splits a payload region whose message has flags into the
// header block and the payload. With FlagHeaders, a region too short for
// the block it declares is returned whole as the header block (which
// CheckHeaderBlock then refuses); the two views are contiguous either way.
func splitRegion(region []byte, flags uint8) (headers, payload []byte) {
	if flags&FlagHeaders == 0 {
		return nil, region
	}
	n := len(region)
	if n >= 2 {
		if h := int(binary.BigEndian.Uint16(region)) + 2; h <= n {
			n = h
		}
	}
	return region[:n:n], region[n:]
}
