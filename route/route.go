package route

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"sync"

	"github.com/swarmmq/swarmmq/frame"
)

// DLQSuffix is the suffix of a dead-letter destination
// (frame.DeadLetterSuffix, where names are defined).
const DLQSuffix = frame.DeadLetterSuffix

var dlq = []byte(DLQSuffix)

// DefaultCacheSize is the default number of destinations a Cache remembers.
const DefaultCacheSize = 1 << 16

// Partition returns the partition of dest among partitions (which must be > 0).
func Partition(dest []byte, partitions uint32) uint32 {
	name := dest
	for bytes.HasSuffix(name, dlq) {
		name = name[:len(name)-len(dlq)]
	}
	sum := sha256.Sum256(name)
	return uint32(binary.BigEndian.Uint64(sum[:8]) % uint64(partitions))
}

// Cache memoises Partition for one partition count. It is safe for
// concurrent use. When it holds Size entries it is cleared and refilled,
// which bounds its memory without the cost of an LRU on the hot path.
type Cache struct {
	partitions uint32
	size       int
	mu         struct {
		sync.RWMutex
		m map[string]uint32
	}
}

// NewCache returns a cache for the given partition count; size ≤ 0 means
// DefaultCacheSize.
func NewCache(partitions uint32, size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &Cache{partitions: partitions, size: size}
	c.mu.m = make(map[string]uint32)
	return c
}

// Partitions returns the partition count the cache maps onto.
func (c *Cache) Partitions() uint32 { return c.partitions }

// Partition returns the partition of dest. A hit does not allocate.
func (c *Cache) Partition(dest []byte) uint32 {
	c.mu.RLock()
	p, ok := c.mu.m[string(dest)]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = Partition(dest, c.partitions)
	c.mu.Lock()
	if len(c.mu.m) >= c.size {
		clear(c.mu.m)
	}
	c.mu.m[string(dest)] = p
	c.mu.Unlock()
	return p
}
