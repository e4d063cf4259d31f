package queue

import (
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
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Go(func() {
			for !stop.Load() {
				for j := 0; j < 100; j++ {
					if seq, ok := w.Lookup(testID(string(rune('a' + j%26)))); ok && seq == 0 {
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
		_, ok := w.Lookup(testID(string(rune('a'+i%26)) + string(rune('a'+i/26))))
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
