package queue

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		b := AppendRecord(nil, &r)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// MessageAt reads what a log entry holds at a location: any
		// bytes, any location, never a panic, only ErrCorrupt.
		if m, err := MessageAt(b, Loc{Index: 1, Off: uint32(len(b) / 3), Len: uint32(len(b) / 2)}); err != nil {
			if !IsCorrupt(err) {
				t.Fatalf("MessageAt error does not wrap ErrCorrupt: %v", err)
			}
		} else if msgLen(m) != len(m) {
			t.Fatalf("MessageAt returned %d bytes that are not one message", len(m))
		}
		var r Record
		if err := DecodeRecord(b, &r); err != nil {
			if !IsCorrupt(err) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if again := AppendRecord(nil, &r); !bytes.Equal(again, b) {
			t.Fatalf("decode/encode is not the identity:\n%x\n%x", b, again)
		}
		// Every message of a messages record is found where its offset
		// in Raw says.
		for off := 0; r.Type == RecordMessages && off < len(r.Raw); {
			n := msgLen(r.Raw[off:])
			m, err := MessageAt(b, Loc{Index: 1, Off: uint32(off), Len: uint32(n)})
			if err != nil || !bytes.Equal(m, r.Raw[off:off+n]) {
				t.Fatalf("MessageAt(off %d, len %d) = %x, %v", off, n, m, err)
			}
			off += n
		}
		// A decoded record applies without panicking.
		p, _ := New(0, Options{MaxDeliver: 1})
		if _, err := p.Apply(1, &r, nil); err != nil && !IsCorrupt(err) {
			t.Fatalf("apply: %v", err)
		}
	})
}

// seedSnap is a snapshot and the log it restores from.
type seedSnap struct {
	snap []byte
	log  testLog
}

// seedSnapshots returns snapshots of a few small partitions, with their logs.
func seedSnapshots(tb testing.TB) []seedSnap {
	var out []seedSnap
	for seed := uint64(1); seed <= 3; seed++ {
		s := newSim(tb, seed, simOptions(seed))
		for i := 0; i < 60; i++ {
			s.step()
		}
		out = append(out, seedSnap{s.a.Snapshot(nil), s.log})
	}
	empty, _ := New(simPartition, Options{})
	return append(out, seedSnap{empty.Snapshot(nil), testLog{}})
}

// FuzzRestore restores edited snapshots; the window's ids are read from
// the log of the first seed (the others' runs name records it may lack).
func FuzzRestore(f *testing.F) {
	seeds := seedSnapshots(f)
	for _, s := range seeds {
		f.Add(s.snap[:len(s.snap)-4]) // the fuzzer edits the body; the target seals it
	}
	log := seeds[0].log
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzRestore(t, body, log) // crc mismatch (almost always)
		sealed := binary.BigEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli))
		fuzzRestore(t, sealed, log)
	})
}

// fuzzRestore restores b; if it is accepted, the snapshot must re-encode
// to b and the partition must survive being used.
func fuzzRestore(t *testing.T, b []byte, log testLog) {
	p, _ := New(simPartition, Options{MaxDeliver: 1, MaxAge: 1e9})
	if err := p.Restore(b, log.read); err != nil {
		if !IsCorrupt(err) {
			t.Fatalf("error does not wrap ErrCorrupt: %v", err)
		}
		return
	}
	if again := p.Snapshot(nil); !bytes.Equal(again, b) {
		t.Fatalf("restore/snapshot is not the identity")
	}
	exercise(t, p)
}

// exercise uses every group of p once: deliver, ack half, nack, expire,
// publish, dead-letter.
func exercise(t *testing.T, p *Partition) {
	type dg struct{ d, g []byte }
	var groups []dg
	p.Destinations(func(d DestStats) {
		for _, g := range d.Groups {
			groups = append(groups, dg{bytes.Clone(d.Name), bytes.Clone(g.Name)})
		}
	})
	idx := p.AppliedIndex()
	apply := func(r *Record) {
		idx++
		if _, err := p.Apply(idx, r, nil); err != nil && !IsCorrupt(err) {
			t.Fatalf("apply: %v", err)
		}
	}
	for round := int64(0); round < 3; round++ {
		now := round * 10e9
		for _, x := range groups {
			ds, err := p.Deliver(x.d, x.g, 50, now, nil)
			if err != nil {
				t.Fatalf("deliver: %v", err)
			}
			var seqs []uint64
			for i, d := range ds {
				if i%2 == 0 {
					seqs = append(seqs, d.Seq)
				}
			}
			apply(&Record{Type: RecordAck, Time: now, Dest: x.d, Group: x.g, Seqs: seqs})
			p.Nack(x.d, x.g, []uint64{1, 2, 3}, 0, now)
			apply(&Record{Type: RecordMessages, Time: now, Dest: x.d, Count: 1,
				Raw: appendTestMsg(nil, testID("fz"), now, []byte("p"))})
			apply(&Record{Type: RecordSessionMessages, Time: now, Dest: x.d, Count: 1,
				Raw: appendProducerMsg(nil, testID("fz"), now, 9+uint64(round), []byte("s"))})
		}
		p.ExpireAge(now)
		p.NextDeadline()
		for _, ds := range p.TakeDead(nil) {
			apply(&Record{Type: RecordDeadLetter, Time: now, Dest: ds.Dest, Group: ds.Group, Seqs: ds.Seqs})
		}
	}
}

func TestRestoreCorrupt(t *testing.T) {
	snaps := seedSnapshots(t)
	for _, ss := range snaps {
		s := ss.snap
		for n := 0; n < len(s); n++ {
			p, _ := New(simPartition, Options{})
			if err := p.Restore(s[:n], ss.log.read); !IsCorrupt(err) {
				t.Fatalf("prefix %d/%d: %v", n, len(s), err)
			}
		}
		flipped := bytes.Clone(s)
		flipped[len(s)/2] ^= 1
		p, _ := New(simPartition, Options{})
		if err := p.Restore(flipped, ss.log.read); !IsCorrupt(err) {
			t.Fatalf("bit flip: %v", err)
		}
		other, _ := New(simPartition+1, Options{})
		if err := other.Restore(s, ss.log.read); err == nil {
			t.Fatal("restored a snapshot into another partition")
		}
		// The window's ids come from the log: without it, a snapshot with
		// a window cannot be restored.
		if hasWindow(t, s, ss.log) {
			q, _ := New(simPartition, Options{})
			if err := q.Restore(s, testLog{}.read); !IsCorrupt(err) {
				t.Fatalf("restore without the log: %v", err)
			}
		}
	}
	p, _ := New(simPartition, Options{})
	if err := p.Restore(snaps[0].snap, snaps[0].log.read); err != nil {
		t.Fatal(err)
	}
	if err := p.Restore(snaps[0].snap, snaps[0].log.read); err == nil || IsCorrupt(err) {
		t.Fatalf("restore into a partition with state: %v", err)
	}
}

// hasWindow reports whether snapshot s restores (from log) to a partition
// with a non-empty dedupe window.
func hasWindow(t *testing.T, s []byte, log testLog) bool {
	p, _ := New(simPartition, Options{})
	if err := p.Restore(s, log.read); err != nil {
		t.Fatal(err)
	}
	return p.Window().Len() > 0
}
