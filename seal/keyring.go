package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/swarmmq/swarmmq/frame"
)

// KeySize is the size of an AES-256 key.
const KeySize = 32

// Key is one key of a keyring: its id, as carried in a message's key_id
// field, and its 32 secret bytes. Formatting a Key with any verb of package
// fmt prints its id and fingerprint, never the secret. A Key is a plain
// value, safe for concurrent reads.
type Key struct {
	// ID names the key on the wire; it is 1 to frame.MaxKeyID (0 means
	// "not sealed"; the top byte of key_id holds message flags).
	ID uint32
	// Secret is the AES-256 key.
	Secret [KeySize]byte
}

// NewKey returns a key with the given id and KeySize bytes read from r,
// which should be crypto/rand.Reader (any reader works, which lets tests
// be reproducible; a predictable reader makes a worthless key).
func NewKey(id uint32, r io.Reader) (Key, error) {
	k := Key{ID: id}
	if _, err := io.ReadFull(r, k.Secret[:]); err != nil {
		return Key{}, fmt.Errorf("swarmmq/seal: cannot read a random key: %w", err)
	}
	return k, nil
}

// String returns "key 3 (fingerprint 1a2b3c4d)"; see Keyring.String.
func (k Key) String() string {
	return "key " + strconv.FormatUint(uint64(k.ID), 10) + " (fingerprint " + fingerprint(&k.Secret) + ")"
}

// Format prints k.String() whatever the verb, so that no verb (%x, %d,
// %#v, …) can print the secret.
func (k Key) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, k.String())
}

// fingerprint returns 8 hex digits derived from a key by SHA-256 under
// its own domain string: enough to tell keys apart in logs, nothing about
// the key itself.
func fingerprint(secret *[KeySize]byte) string {
	h := sha256.New()
	_, _ = h.Write([]byte("swarmmq/seal key fingerprint v1\x00"))
	_, _ = h.Write(secret[:])
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:4])
}

// Keyring holds the keys a process may seal and open with, by id, and
// which of them is current (the key new messages are sealed with). It
// keeps one AES-256-GCM instance (cipher.AEAD) per key, built once.
//
// A Keyring is immutable after NewKeyring or ParseKeyring and safe for
// concurrent use by any number of goroutines. Rotation therefore means a
// new Keyring (from the edited file); Sealers made from the old one keep
// sealing with its current key. Formatting a Keyring prints its ids and
// key fingerprints, never a secret.
type Keyring struct {
	current *entry
	keys    []*entry // sorted by id
}

// entry is one key with its cipher; read-only once built. The secret is
// behind a pointer: package fmt prints the unexported fields of a Keyring
// value (not a pointer) by reflection, dereferencing one pointer at most,
// so the secret bytes stay out of reach of any verb.
type entry struct {
	id     uint32
	secret *[KeySize]byte
	aead   cipher.AEAD
	fp     string
}

// NewKeyring returns a keyring of keys in which the key with id current
// seals. Every key needs an id from 1 to frame.MaxKeyID, ids must be distinct, and
// current must be one of them. The error, marked ErrInvalidKeyring, lists
// every problem. The secrets are copied.
func NewKeyring(current uint32, keys ...Key) (*Keyring, error) {
	slots := make([]slot, len(keys))
	for i, k := range keys {
		slots[i] = slot{key: k, idOK: true}
	}
	var p problems
	checkKeys(current, true, slots, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return build(current, keys)
}

// slot is a key as read from a file: idOK says its id could be read, so
// it takes part in the checks across keys.
type slot struct {
	key  Key
	idOK bool
}

// checkKeys reports what is wrong across keys: no keys, id 0, duplicate
// ids, a current id that is 0 or names no key (unless currentOK is false:
// current could not be read, which is reported already).
func checkKeys(current uint32, currentOK bool, slots []slot, p *problems) {
	if len(slots) == 0 {
		p.addf("keys: no keys")
	}
	seen := make(map[uint32]int, len(slots))
	for i, s := range slots {
		switch j, dup := seen[s.key.ID]; {
		case !s.idOK:
		case s.key.ID == 0:
			p.addf("keys[%d].id: 0 is reserved for unsealed messages", i)
		case s.key.ID > frame.MaxKeyID:
			p.addf("keys[%d].id: %d is too large (want 1 to %d: the top byte of key_id holds message flags)", i, s.key.ID, frame.MaxKeyID)
		case dup:
			p.addf("keys[%d].id: duplicate id %d (also keys[%d])", i, s.key.ID, j)
		default:
			seen[s.key.ID] = i
		}
	}
	switch _, ok := seen[current]; {
	case !currentOK:
	case current == 0:
		p.addf("current: 0 means unsealed; want the id of a key")
	case !ok && len(slots) > 0:
		p.addf("current: key %d is not among the keys", current)
	}
}

// build makes the Keyring of keys already checked by NewKeyring.
func build(current uint32, keys []Key) (*Keyring, error) {
	kr := &Keyring{keys: make([]*entry, 0, len(keys))}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Secret[:])
		if err != nil {
			return nil, fmt.Errorf("swarmmq/seal: key %d: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("swarmmq/seal: key %d: %w", k.ID, err)
		}
		secret := new([KeySize]byte)
		*secret = k.Secret
		kr.keys = append(kr.keys, &entry{id: k.ID, secret: secret, aead: aead, fp: fingerprint(secret)})
	}
	slices.SortFunc(kr.keys, func(a, b *entry) int { return cmpUint32(a.id, b.id) })
	kr.current = kr.lookup(current)
	return kr, nil
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lookup returns the key with id, or nil. It does not allocate.
func (kr *Keyring) lookup(id uint32) *entry {
	lo, hi := 0, len(kr.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch e := kr.keys[m]; {
		case e.id == id:
			return e
		case e.id < id:
			lo = m + 1
		default:
			hi = m
		}
	}
	return nil
}

// Current returns the id of the key new messages are sealed with.
func (kr *Keyring) Current() uint32 { return kr.current.id }

// IDs returns the ids of the keys, in increasing order.
func (kr *Keyring) IDs() []uint32 {
	ids := make([]uint32, len(kr.keys))
	for i, e := range kr.keys {
		ids[i] = e.id
	}
	return ids
}

// Has reports whether the keyring holds a key with id.
func (kr *Keyring) Has(id uint32) bool { return kr.lookup(id) != nil }

// String describes the keyring for logs without revealing a key:
// "keyring: current 2; keys 1 (fingerprint 1a2b3c4d), 2 (fingerprint
// 5e6f7a8b)". Equal fingerprints on two machines mean equal keys.
func (kr *Keyring) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keyring: current %d; keys", kr.current.id)
	for i, e := range kr.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %d (fingerprint %s)", e.id, e.fp)
	}
	return b.String()
}

// GoString is String, so that %#v reveals no key either.
func (kr *Keyring) GoString() string { return kr.String() }

// AppendFile appends the keyring in its file format (see ParseKeyring) to
// dst, keys in hex, ordered by id, and returns the extended buffer. The
// result contains every secret: write it only to a file of mode 0600.
func (kr *Keyring) AppendFile(dst []byte) []byte {
	dst = append(dst, fileHeader...)
	dst = append(dst, "current: "...)
	dst = strconv.AppendUint(dst, uint64(kr.current.id), 10)
	dst = append(dst, "\nkeys:\n"...)
	for _, e := range kr.keys {
		dst = append(dst, "  - id: "...)
		dst = strconv.AppendUint(dst, uint64(e.id), 10)
		dst = append(dst, "\n    key: "+prefixHex...)
		dst = hex.AppendEncode(dst, e.secret[:])
		dst = append(dst, '\n')
	}
	return dst
}

// fileHeader is the comment AppendFile starts a keyring file with.
const fileHeader = `# SwarmMQ keyring: AES-256-GCM keys by id (see docs/sealing.md).
# Secret: keep this file at mode 0600. To rotate, add a key with a new id,
# set current to it, and keep the old keys to open what they sealed.
`
