package seal

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/swarmmq/swarmmq/frame"
)

// MaxKeyringSize bounds the keyring files ParseKeyring accepts: 1 MiB holds
// some ten thousand keys.
const MaxKeyringSize = 1 << 20

// Prefixes of a key's text in a keyring file.
const (
	prefixHex    = "hex:"
	prefixBase64 = "base64:"
)

// ParseKeyring parses a keyring file (YAML; JSON is YAML too):
//
//	current: 2              # the id of the key new messages are sealed with
//	keys:
//	  - id: 1               # 1 … 16777215; 0 means "not sealed"
//	    key: hex:5f0e…      # 64 hex digits
//	  - id: 2
//	    key: base64:q83v…=  # 44 characters, standard alphabet, padded
//
// Both fields are required and no others are allowed. The error, marked
// ErrInvalidKeyring, lists every problem found (a bad length, a duplicate
// id, id 0, a missing or unknown current key, an unknown field, …) with
// where it is; it never quotes a key. ParseKeyring never panics, whatever
// b holds.
func ParseKeyring(b []byte) (*Keyring, error) {
	if len(b) > MaxKeyringSize {
		return nil, fmt.Errorf("%w: file of %d bytes is larger than %d", ErrInvalidKeyring, len(b), MaxKeyringSize)
	}
	tree, err := decodeYAML(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKeyring, err)
	}
	var p problems
	current, keys := parseFile(tree, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return NewKeyring(current, keys...)
}

// decodeYAML parses b into a generic tree. Syntax errors say where, without
// quoting the file (which holds secrets). A panic of the YAML library on a
// pathological input is turned into an error, so that bytes from disk never
// crash the process.
func decodeYAML(b []byte) (tree any, err error) {
	defer func() {
		if r := recover(); r != nil {
			tree, err = nil, errors.New("cannot parse YAML: the parser failed on this input")
		}
	}()
	if err := yaml.Unmarshal(b, &tree); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			return nil, fmt.Errorf("cannot parse YAML: %s", ye.FormatError(false, false))
		}
		return nil, errors.New("cannot parse YAML")
	}
	return tree, nil
}

// parseFile reads the top-level mapping and checks the keys together.
func parseFile(tree any, p *problems) (current uint32, keys []Key) {
	m, ok := tree.(map[string]any)
	if !ok {
		p.addf("want a mapping with current and keys, got %s", describeKind(tree))
		return 0, nil
	}
	for _, k := range sortedKeys(m) {
		if k != "current" && k != "keys" {
			p.addf("%s: unknown field (known: current, keys)", k)
		}
	}
	currentOK := false
	if v, ok := m["current"]; ok {
		current, currentOK = parseID(v, "current", p)
	} else {
		p.addf("current: missing (the id of the key to seal with)")
	}
	v, ok := m["keys"]
	if !ok {
		p.addf("keys: missing")
		return current, nil
	}
	list, ok := v.([]any)
	if !ok {
		p.addf("keys: want a list, got %s", describeKind(v))
		return current, nil
	}
	slots := make([]slot, len(list))
	keys = make([]Key, len(list))
	for i, item := range list {
		slots[i] = parseKey(item, fmt.Sprintf("keys[%d]", i), p)
		keys[i] = slots[i].key
	}
	checkKeys(current, currentOK, slots, p)
	return current, keys
}

// parseKey reads one item of keys.
func parseKey(item any, path string, p *problems) slot {
	m, ok := item.(map[string]any)
	if !ok {
		p.addf("%s: want a mapping with id and key, got %s", path, describeKind(item))
		return slot{}
	}
	for _, k := range sortedKeys(m) {
		if k != "id" && k != "key" {
			p.addf("%s.%s: unknown field (known: id, key)", path, k)
		}
	}
	var s slot
	if v, ok := m["id"]; ok {
		s.key.ID, s.idOK = parseID(v, path+".id", p)
	} else {
		p.addf("%s.id: missing", path)
	}
	if v, ok := m["key"]; ok {
		parseSecret(v, path+".key", &s.key.Secret, p)
	} else {
		p.addf("%s.key: missing", path)
	}
	return s
}

// parseID reads a key id: a whole number from 0 to frame.MaxKeyID, 2^24-1
// (0 is reported
// by checkKeys). ok is false after a problem.
func parseID(v any, path string, p *problems) (id uint32, ok bool) {
	var n uint64
	switch x := v.(type) {
	case uint64:
		n = x
	case int64:
		if x < 0 {
			p.addf("%s: %d is negative (want 1 to %d)", path, x, frame.MaxKeyID)
			return 0, false
		}
		n = uint64(x)
	case int:
		if x < 0 {
			p.addf("%s: %d is negative (want 1 to %d)", path, x, frame.MaxKeyID)
			return 0, false
		}
		n = uint64(x)
	default:
		p.addf("%s: want a whole number from 1 to %d, got %s", path, uint32(math.MaxUint32), describeKind(v))
		return 0, false
	}
	if n > frame.MaxKeyID {
		p.addf("%s: %d is too large (want 1 to %d: the top byte of key_id holds message flags)", path, n, frame.MaxKeyID)
		return 0, false
	}
	return uint32(n), true
}

// parseSecret decodes "hex:…" or "base64:…" into secret. Problems never
// quote the text.
func parseSecret(v any, path string, secret *[KeySize]byte, p *problems) {
	s, ok := v.(string)
	if !ok {
		p.addf("%s: want a string such as hex:<64 hex digits>, got %s", path, describeKind(v))
		return
	}
	s = strings.TrimSpace(s)
	var (
		raw []byte
		err error
	)
	switch {
	case strings.HasPrefix(s, prefixHex):
		raw, err = hex.DecodeString(s[len(prefixHex):])
		if err != nil {
			p.addf("%s: not valid hex after hex: (want %d hex digits)", path, 2*KeySize)
			return
		}
	case strings.HasPrefix(s, prefixBase64):
		raw, err = base64.StdEncoding.DecodeString(s[len(prefixBase64):])
		if err != nil {
			p.addf("%s: not valid base64 after base64: (want %d characters, standard alphabet, padded)",
				path, base64.StdEncoding.EncodedLen(KeySize))
			return
		}
	default:
		p.addf("%s: must start with %s or %s", path, prefixHex, prefixBase64)
		return
	}
	if len(raw) != KeySize {
		p.addf("%s: key is %d bytes, want %d", path, len(raw), KeySize)
		clear(raw)
		return
	}
	copy(secret[:], raw)
	clear(raw)
}

// problems collects what is wrong with a keyring.
type problems struct {
	list []string
}

func (p *problems) addf(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// err returns nil, or one error marked ErrInvalidKeyring that lists every
// problem on its own line.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n  %s", ErrInvalidKeyring, strings.Join(p.list, "\n  "))
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// describeKind names the kind of a YAML value without its content: a
// misplaced key must not end up in an error message.
func describeKind(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case float64:
		return "a fraction"
	case uint64, int64, int:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
