package queue

import (
	"encoding/binary"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWindowConcurrentLookup runs Lookup on other goroutines while the
// owner applies records (meaningful under -race).
func TestWindowConcurrentLookup(t *testing.T) {
	p, err := New(0, Options{DedupeMax: 64})
	require.NoError(t, err)
	w := p.Window()
	q := []byte("q")
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Go(func() {
			for !stop.Load() {
				for j := 0; j < 100; j++ {
					if seq, ok := w.Lookup(q, testID(string(rune('a'+j%26)))); ok && seq == 0 {
						t.Error("seq 0 in the window")
					}
				}
				_ = w.Len()
			}
		})
	}
	for i := 1; i <= 300; i++ {
		raw := appendTestMsg(nil, testID(string(rune('a'+i%26))+string(rune('a'+i/26))), int64(i), []byte("x"))
		r := Record{Type: RecordMessages, Time: int64(i) * 1e9, Dest: []byte("q"), Count: 1, Raw: raw}
		_, err := p.Apply(uint64(i), &r, nil)
		require.NoError(t, err)
	}
	stop.Store(true)
	wg.Wait()
	// Two generations of 32: at least the 32 newest ids, at most 64.
	require.GreaterOrEqual(t, w.Len(), 32)
	require.LessOrEqual(t, w.Len(), 64)
	for i := 300 - 31; i <= 300; i++ {
		_, ok := w.Lookup(q, testID(string(rune('a'+i%26))+string(rune('a'+i/26))))
		require.True(t, ok, "id %d of the newest 32 is missing", i)
	}
}

// TestCycleAllocs checks that in steady state a publish-deliver-ack cycle
// allocates once: the copy of the record's messages.
func TestCycleAllocs(t *testing.T) {
	p, err := New(0, Options{})
	require.NoError(t, err)
	q, g := []byte("q"), []byte("g")
	idx := uint64(1)
	_, err = p.Apply(idx, &Record{Type: RecordGroupCreate, Dest: q, Group: g}, nil)
	require.NoError(t, err)
	raw, offs := benchRaw(50, 16)
	pub := &Record{Type: RecordMessages, Dest: q, Count: 50, Raw: raw}
	ack := &Record{Type: RecordAck, Dest: q, Group: g, Seqs: make([]uint64, 0, 50)}
	out := make([]Delivery, 0, 50)
	res := make([]Result, 0, 50)
	batch := 0
	cycle := func() {
		batch++
		renumber(raw, offs, batch)
		idx++
		res, _ = p.Apply(idx, pub, res[:0])
		out, _ = p.Deliver(q, g, 50, int64(batch), out[:0])
		ack.Seqs = ack.Seqs[:0]
		for _, d := range out {
			ack.Seqs = append(ack.Seqs, d.Seq)
		}
		idx++
		res, _ = p.Apply(idx, ack, res[:0])
	}
	for i := 0; i < 10; i++ {
		cycle() // warm the rings up
	}
	require.Equal(t, 1.0, testing.AllocsPerRun(100, cycle))
	require.Len(t, out, 50)
	require.Equal(t, int64(0), p.RetainedBytes())
}

// BenchmarkWindow measures what the publish path asks of a full window
// (DefaultDedupeMax) per new message: the dedupe stage's Lookup, the
// apply's look-up, and the insert.
func BenchmarkWindow(b *testing.B) {
	w := newWindow(int64(DefaultDedupeWindow), DefaultDedupeMax, maphash.MakeSeed())
	ids := make([][16]byte, 1<<16)
	for i := range ids {
		binary.BigEndian.PutUint64(ids[i][:], rand.Uint64())
		binary.BigEndian.PutUint64(ids[i][8:], rand.Uint64())
	}
	d := newDest([]byte("bench"), w.seed)
	for i := range DefaultDedupeMax {
		e := winEntry{id: [16]byte{byte(i >> 16), byte(i >> 8), byte(i), 1}, d: d, seq: uint64(i + 1)}
		w.addLocked(e, w.keyHash(d.h, &e.id))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := ids[i&(len(ids)-1)]
		id[15] ^= byte(i >> 16)
		id[14] ^= byte(i >> 24)
		if _, ok := w.Lookup(d.name, id); ok {
			b.Fatal("hit")
		}
		w.mu.Lock()
		if _, ok, h := w.getLocked(d, id); !ok {
			w.addLocked(winEntry{id: id, d: d, seq: uint64(i + 1)}, h)
		}
		w.mu.Unlock()
		i++
	}
}

// TestWindowManyIDs checks the index against a map: ids sharing a long
// prefix, generations turning over, look-ups of present and absent ids.
func TestWindowManyIDs(t *testing.T) {
	w := newWindow(int64(DefaultDedupeWindow), 1000, maphash.MakeSeed()) // generations of 500
	d := newDest([]byte("q"), w.seed)
	var ids [][16]byte
	for i := range 5000 {
		var id [16]byte
		id[0] = 7 // a fixed prefix, as a producer id + counter scheme would give
		binary.BigEndian.PutUint32(id[12:], uint32(i))
		ids = append(ids, id)
		w.mu.Lock()
		_, ok, h := w.getLocked(d, id)
		if ok {
			t.Fatalf("id %d found before it was added", i)
		}
		w.addLocked(winEntry{id: id, d: d, seq: uint64(i + 1)}, h)
		w.mu.Unlock()
		// The newest 500 are always there, with their seqs; nothing older
		// than the previous generation is.
		for _, j := range []int{i, i - 1, i - 250, i - 499} {
			if j < 0 {
				continue
			}
			if seq, ok := w.Lookup(d.name, ids[j]); !ok || seq != uint64(j+1) {
				t.Fatalf("after %d: id %d → %d %v", i, j, seq, ok)
			}
		}
		if j := i - 1000; j >= 0 {
			if _, ok := w.Lookup(d.name, ids[j]); ok {
				t.Fatalf("after %d: id %d still in the window", i, j)
			}
		}
		if n := w.Len(); n < min(i+1, 500) || n > 1000 {
			t.Fatalf("after %d: %d ids", i, n)
		}
	}
}
