package wal

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// metaSecretPrefix starts the keys of the secrets Secret keeps.
const metaSecretPrefix = string(prefixMeta) + "secret/"

// Secret returns the secret called name: size random bytes drawn (from
// crypto/rand) and stored durably the first time it is asked for, the same
// bytes on every later call and after every restart. The node keeps the
// key of its producer session tokens this way (docs/protocol.md), so a
// session outlives a restart. A stored secret of another size is an error
// wrapping ErrCorrupt.
func (l *Log) Secret(name string, size int) ([]byte, error) {
	key := []byte(metaSecretPrefix + name)
	v, closer, err := l.db.Get(key)
	switch {
	case err == nil:
		defer func() { _ = closer.Close() }()
		if len(v) != size {
			return nil, corruptf("secret %q is %d bytes, want %d", name, len(v), size)
		}
		return append([]byte(nil), v...), nil
	case !errors.Is(err, pebble.ErrNotFound):
		return nil, fmt.Errorf("swarmmq/wal: cannot read secret %q: %w", name, err)
	}
	s := make([]byte, size)
	_, _ = rand.Read(s) // never fails (crypto/rand)
	b := l.db.NewBatch()
	_ = b.Set(key, s, nil)
	if err := l.commitSync(b); err != nil {
		return nil, fmt.Errorf("swarmmq/wal: cannot store secret %q: %w", name, err)
	}
	return s, nil
}
