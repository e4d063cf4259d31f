package queue

import (
	"fmt"
	"time"
)

// admin applies a random admin record and brings the model along.
func (s *sim) admin() {
	dest := simDests[s.rng.IntN(len(simDests))]
	r := Record{Time: s.recTime(), Dest: []byte(dest)}
	switch n := s.rng.IntN(10); {
	case n < 3:
		k := dgKey{dest, fmt.Sprintf("g%d", s.rng.IntN(2))}
		r.Type, r.Group = RecordGroupReset, []byte(k.g)
		r.Start = Start{Kind: StartKind(1 + s.rng.IntN(4)), At: uint64(s.rng.IntN(30))}
		if r.Start.Kind == StartTime {
			r.Start.At = uint64(s.now - int64(s.rng.IntN(20))*int64(time.Second))
		}
		if s.groups[k] == nil {
			r.Flags = FlagCreate
		}
		if s.apply(&r)[0].Code == CodeOK {
			s.resetModel(k)
		}
	case n < 5:
		r.Type = RecordPurge
		if s.apply(&r)[0].Code == CodeOK {
			for _, k := range s.groupKeys() {
				if k.d == dest {
					s.resetModel(k)
				}
			}
		}
	case n < 6:
		k := dgKey{dest, fmt.Sprintf("g%d", s.rng.IntN(2))}
		r.Type, r.Group = RecordGroupDelete, []byte(k.g)
		s.apply(&r)
		delete(s.groups, k)
	case n < 7:
		r.Type = RecordDestDelete
		s.apply(&r)
		for _, k := range s.groupKeys() {
			if k.d == dest {
				delete(s.groups, k)
			}
		}
	case n < 9:
		r.Type = RecordDestConfig
		r.Config = DestConfig{Retention: Retention(s.rng.IntN(3)), MaxMsgs: int64(s.rng.IntN(20) - 2)}
		s.apply(&r)
		s.lossy = s.lossy || r.Config.Retention == RetentionLimits || s.opts.Retention == RetentionLimits
	default:
		r.Type, r.Dest = RecordReplay, []byte("a")
		if s.apply(&r)[0].Code == CodeOK {
			for _, k := range s.groupKeys() {
				if k.d == "a.dlq" { // done with every message that moved
					s.resetModel(k)
				}
			}
		}
	}
}

// resetModel makes the model of group k what the partition says after a
// reset or purge: done below its floor and wherever a seq is no longer
// retained, nothing in flight, attempts from 1 again.
func (s *sim) resetModel(k dgKey) {
	d := s.a.dest([]byte(k.d))
	g := d.group([]byte(k.g))
	m := s.groups[k]
	if m == nil {
		m = &simGroup{delivered: map[uint64]bool{}, from: g.floor - 1}
		s.groups[k] = m
	}
	m.done, m.attempts, m.inflight = map[uint64]bool{}, map[uint64]uint32{}, nil
	for seq := uint64(1); seq <= d.lastSeq; seq++ {
		if seq < g.floor || d.slot(seq) == nil {
			m.done[seq] = true
		}
	}
	m.from = min(m.from, g.floor-1)
}
