package owner

import (
	"fmt"
	"sync/atomic"
)

// Table is one immutable view of the partitions served here. Safe for
// concurrent use.
type Table struct {
	workers int
	led     []bool   // by partition
	leaders []Leader // by partition: who leads it, as this node knows
	epoch   uint64   // bumped by every change of a partition's Leader
}

// Leader is what a node knows of a partition's leader: its node id, the
// address clients reach it at, and the raft term. The zero value means no
// leader is known. A plain value.
type Leader struct {
	ID, Addr string
	Term     uint64
}

// NewTable returns a table of partitions partitions spread over workers
// fanout workers, in which the node leads the partitions for which led
// returns true (nil: every partition). It fails if workers is not in
// 1..partitions.
func NewTable(partitions uint32, workers int, led func(p uint32) bool) (*Table, error) {
	if workers < 1 || uint32(workers) > partitions {
		return nil, fmt.Errorf("swarmmq/owner: %d workers for %d partitions", workers, partitions)
	}
	t := &Table{workers: workers, led: make([]bool, partitions), leaders: make([]Leader, partitions)}
	for p := range t.led {
		t.led[p] = led == nil || led(uint32(p))
	}
	return t, nil
}

// Partitions returns the number of partitions.
func (t *Table) Partitions() uint32 { return uint32(len(t.led)) }

// Workers returns the number of fanout workers.
func (t *Table) Workers() int { return t.workers }

// Worker returns the fanout worker that applies partition p and serves its
// fetches. It is the same in every Table of a Map.
func (t *Table) Worker(p uint32) int { return int(p % uint32(t.workers)) }

// Leads reports whether this node takes requests for partition p. False
// for a partition out of range.
func (t *Table) Leads(p uint32) bool { return p < uint32(len(t.led)) && t.led[p] }

// WorkerPartitions appends to dst the partitions worker w applies, led
// here or not, in increasing order.
func (t *Table) WorkerPartitions(dst []uint32, w int) []uint32 {
	for p := uint32(w); p < uint32(len(t.led)); p += uint32(t.workers) {
		dst = append(dst, p)
	}
	return dst
}

// Led appends to dst the partitions this node leads, in increasing order.
func (t *Table) Led(dst []uint32) []uint32 {
	for p, ok := range t.led {
		if ok {
			dst = append(dst, uint32(p))
		}
	}
	return dst
}

// Leader returns the leader of partition p as this node knows it (the
// zero Leader if none is known, or p is out of range).
func (t *Table) Leader(p uint32) Leader {
	if p >= uint32(len(t.leaders)) {
		return Leader{}
	}
	return t.leaders[p]
}

// Epoch counts the changes of any partition's Leader since the Map was
// made: two tables with the same epoch name the same leaders.
func (t *Table) Epoch() uint64 { return t.epoch }

// LeaderAddrs appends to dst, for each partition, the client address of
// its leader as this node knows it ("" if none is known).
func (t *Table) LeaderAddrs(dst []string) []string {
	for _, l := range t.leaders {
		dst = append(dst, l.Addr)
	}
	return dst
}

// WithLeader returns a copy of t in which this node leads partition p, or
// no longer does.
func (t *Table) WithLeader(p uint32, leads bool) *Table {
	c := t.clone()
	if p < uint32(len(c.led)) {
		c.led[p] = leads
	}
	return c
}

// WithLeadership returns a copy of t in which this node leads partition p
// or not, and p's leader is l.
func (t *Table) WithLeadership(p uint32, leads bool, l Leader) *Table {
	c := t.WithLeader(p, leads)
	if p < uint32(len(c.leaders)) && c.leaders[p] != l {
		c.leaders[p] = l
		c.epoch++
	}
	return c
}

func (t *Table) clone() *Table {
	return &Table{workers: t.workers, led: append([]bool(nil), t.led...),
		leaders: append([]Leader(nil), t.leaders...), epoch: t.epoch}
}

// Map holds the current Table. Safe for concurrent use.
type Map struct {
	cur atomic.Pointer[Table]
}

// New returns a Map whose table has the node lead every one of partitions
// partitions, spread over workers fanout workers: a single node.
func New(partitions uint32, workers int) (*Map, error) {
	t, err := NewTable(partitions, workers, nil)
	if err != nil {
		return nil, err
	}
	m := &Map{}
	m.cur.Store(t)
	return m, nil
}

// NewMap returns a Map holding t (a cluster member starts with a table in
// which it leads nothing).
func NewMap(t *Table) *Map {
	m := &Map{}
	m.cur.Store(t)
	return m
}

// Load returns the current table.
func (m *Map) Load() *Table { return m.cur.Load() }

// Store makes t the current table. t must have the partition and worker
// counts of the table it replaces (a partition never changes worker).
func (m *Map) Store(t *Table) error {
	old := m.cur.Load()
	if t.Partitions() != old.Partitions() || t.workers != old.workers {
		return fmt.Errorf("swarmmq/owner: a table of %d partitions over %d workers cannot replace one of %d over %d",
			t.Partitions(), t.workers, old.Partitions(), old.workers)
	}
	m.cur.Store(t)
	return nil
}

// SetLeader records that this node now leads partition p, or no longer
// does. Concurrent SetLeader calls each take effect (compare-and-swap).
func (m *Map) SetLeader(p uint32, leads bool) {
	m.update(func(t *Table) *Table { return t.WithLeader(p, leads) })
}

// SetLeadership records whether this node leads partition p and who its
// leader is (a replicated log calls it when it learns of a new leader).
func (m *Map) SetLeadership(p uint32, leads bool, l Leader) {
	m.update(func(t *Table) *Table { return t.WithLeadership(p, leads, l) })
}

// Promote makes this node lead partition p if p's leader is still l, and
// reports whether it did. The applier calls it once it has applied every
// entry committed before l's term began, so requests reach the partition
// only when its state is complete; a leadership that changed meanwhile
// (another l) is not taken.
func (m *Map) Promote(p uint32, l Leader) bool {
	ok := false
	m.update(func(t *Table) *Table {
		ok = t.Leader(p) == l
		if !ok {
			return nil
		}
		return t.WithLeader(p, true)
	})
	return ok
}

// update stores f(current table) with compare-and-swap, retrying on a
// concurrent change; f returning nil changes nothing.
func (m *Map) update(f func(*Table) *Table) {
	for {
		old := m.cur.Load()
		t := f(old)
		if t == nil || m.cur.CompareAndSwap(old, t) {
			return
		}
	}
}
