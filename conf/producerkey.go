package conf

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/swarmmq/swarmmq/netio"
)

// The producer key keys the tokens of producer sessions (docs/protocol.md,
// PRODUCER). A single node keeps its own in its data directory; the nodes
// of a cluster must share one, or a client's session would be refused by
// the partition's next leader and its retries there no longer recognised.
// The file holds the key in hex (64 digits), nothing else but white space.

// ReadProducerKey reads the producer key file at path.
func ReadProducerKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	key := make([]byte, hex.DecodedLen(len(b)))
	n, err := hex.Decode(key, b)
	if err != nil || n != netio.ProducerKeySize {
		return nil, fmt.Errorf("%s must hold %d hex digits (a key of %d bytes; node --gen-producer-key writes one)",
			path, 2*netio.ProducerKeySize, netio.ProducerKeySize)
	}
	return key[:n], nil
}

// GenerateProducerKey writes a fresh producer key to path (mode 0600),
// never overwriting a file.
func GenerateProducerKey(path string) error {
	key := make([]byte, netio.ProducerKeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: not overwriting a producer key (every node of the cluster must keep the same)", path)
		}
		return err
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(key)); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
