package route

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// naivePartition is the definition, written the slow obvious way.
func naivePartition(dest string, partitions uint32) uint32 {
	name := dest
	for strings.HasSuffix(name, DLQSuffix) {
		name = name[:len(name)-len(DLQSuffix)]
	}
	sum := sha256.Sum256([]byte(name))
	return uint32(binary.BigEndian.Uint64(sum[:]) % uint64(partitions))
}

func TestPartitionKnownValues(t *testing.T) {
	f := func(dest string, partitions, want uint32) {
		t.Helper()
		if got := Partition([]byte(dest), partitions); got != want {
			t.Fatalf("Partition(%q, %d) = %d, want %d", dest, partitions, got, want)
		}
	}
	// sha256("test-queue")[:8] = 0xb497f76f0125075a; pinned below so a change of the
	// hash or the byte order cannot go unnoticed.
	f("test-queue", 16, naivePartition("test-queue", 16))
	f("test-queue", 1, 0)
	f("test-queue.dlq", 16, Partition([]byte("test-queue"), 16))
	f("a.dlq.dlq", 16, Partition([]byte("a"), 16))
}

func TestPartitionGolden(t *testing.T) {
	got := []uint32{}
	for _, d := range []string{"test-queue", "orders", "a", "x.dlq"} {
		got = append(got, Partition([]byte(d), 16))
	}
	want := fmt.Sprint([]uint32{naivePartition("test-queue", 16), naivePartition("orders", 16),
		naivePartition("a", 16), naivePartition("x", 16)})
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v want %v", got, want)
	}
	// The first value pinned by hand from `printf test-queue | sha256sum`.
	if p := Partition([]byte("test-queue"), 1<<31); p != pinnedTestQueue {
		t.Fatalf("Partition(test-queue, 2^31) = %d, want %d", p, pinnedTestQueue)
	}
}

func TestCacheMatchesNaive(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	c := NewCache(16, 64)
	for i := 0; i < 5000; i++ {
		dest := fmt.Sprintf("dest-%d", r.IntN(200))
		if r.IntN(4) == 0 {
			dest += DLQSuffix
		}
		if got, want := c.Partition([]byte(dest)), naivePartition(dest, 16); got != want {
			t.Fatalf("Cache.Partition(%q) = %d, want %d", dest, got, want)
		}
	}
	if n := len(c.mu.m); n > 64 {
		t.Fatalf("cache holds %d entries, bound is 64", n)
	}
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	c := NewCache(16, 0)
	d := []byte("test-queue")
	c.Partition(d)
	if n := testing.AllocsPerRun(100, func() { c.Partition(d) }); n != 0 {
		t.Fatalf("cache hit allocates %v times", n)
	}
}

func TestSpread(t *testing.T) {
	counts := make([]int, 16)
	for i := 0; i < 16000; i++ {
		counts[Partition([]byte(fmt.Sprintf("q-%d", i)), 16)]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 {
			t.Fatalf("partition %d got %d of 16000 destinations; hashing is skewed: %v", p, n, counts)
		}
	}
}

var sink uint32

func BenchmarkPartition(b *testing.B) {
	d := []byte("test-queue")
	b.Run("cache=off", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(d)))
		for i := 0; i < b.N; i++ {
			sink = Partition(d, 16)
		}
	})
	b.Run("cache=on", func(b *testing.B) {
		c := NewCache(16, 0)
		b.ReportAllocs()
		b.SetBytes(int64(len(d)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sink = c.Partition(d)
			}
		})
	})
}

// pinnedTestQueue is 0xb497f76f0125075a % 2^31, from `printf test-queue | sha256sum`.
const pinnedTestQueue = 19203930
