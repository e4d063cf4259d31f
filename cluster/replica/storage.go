package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/swarmmq/swarmmq/wal"
)

// storage is raft.Storage for one partition over the wal.Log, with the
// terms and the tail of the log mirrored in memory. Only the loop goroutine
// uses it: raft reads it from the calls the loop makes, and the loop writes
// it (through a wal.RaftBatch) between them.
type storage struct {
	log *wal.Log
	p   uint32

	hs    *pb.HardState
	cs    *pb.ConfState
	first uint64 // raft's first index
	last  uint64
	runs  []wal.TermRun // ascending; the first holds first-1
	// snapIndex is the index of the partition's snapshot ('S' key), 0 if
	// none; recFirst the lowest entry kept in the log (for the payload).
	snapIndex uint64
	cache     entryCache

	// The payload raft sends (snapbuild.go): ready once built for the
	// current snapshot, building while asked for; gen counts the changes
	// of the stored snapshot. request hands a build to the builder.
	ready    *pb.Snapshot
	building bool
	gen      uint64
	request  func(buildReq)
	lg       *slog.Logger
}

// openStorage loads the partition's raft state. A partition holding data
// but no raft state was written by a single node and is refused.
func openStorage(l *wal.Log, p uint32, peers []uint64, cacheBytes int) (*storage, bool, error) {
	s := &storage{log: l, p: p, cache: entryCache{max: cacheBytes}}
	st, ok, err := l.LoadRaftState(p)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		if last := l.LastIndex(p); last > 0 {
			return nil, false, fmt.Errorf("swarmmq/replica: partition %d holds %d entries but no raft state: "+
				"the data directory was written by a single node; start the cluster on an empty one", p, last)
		}
		s.hs = &pb.HardState{}
		s.cs = &pb.ConfState{Voters: append([]uint64(nil), peers...)}
		s.first = 1
		return s, true, nil
	}
	s.hs = &pb.HardState{Term: new(st.Term), Vote: new(st.Vote), Commit: new(st.Commit)}
	s.cs = &pb.ConfState{}
	if err := proto.Unmarshal(st.Conf, s.cs); err != nil {
		return nil, false, fmt.Errorf("swarmmq/replica: partition %d: bad conf state: %w", p, err)
	}
	s.first, s.last = st.First, l.LastIndex(p)
	if s.runs, err = l.LoadTermRuns(p); err != nil {
		return nil, false, err
	}
	if idx, _, ok, err := l.LoadSnapshot(p); err != nil {
		return nil, false, err
	} else if ok {
		s.snapIndex = idx
	}
	return s, false, nil
}

// state returns the wal form of the raft state.
func (s *storage) state() (wal.RaftState, error) {
	conf, err := proto.Marshal(s.cs)
	if err != nil {
		return wal.RaftState{}, err
	}
	return wal.RaftState{First: s.first, Term: s.hs.GetTerm(), Vote: s.hs.GetVote(), Commit: s.hs.GetCommit(), Conf: conf}, nil
}

// InitialState implements raft.Storage.
func (s *storage) InitialState() (*pb.HardState, *pb.ConfState, error) {
	return proto.CloneOf(s.hs), proto.CloneOf(s.cs), nil
}

// FirstIndex implements raft.Storage.
func (s *storage) FirstIndex() (uint64, error) { return s.first, nil }

// LastIndex implements raft.Storage.
func (s *storage) LastIndex() (uint64, error) { return max(s.last, s.first-1), nil }

// Term implements raft.Storage.
func (s *storage) Term(i uint64) (uint64, error) {
	switch {
	case i+1 < s.first:
		return 0, raft.ErrCompacted
	case i > max(s.last, s.first-1):
		return 0, raft.ErrUnavailable
	}
	return s.termAt(i), nil
}

// termAt returns the term of i from the runs; 0 before the first run.
func (s *storage) termAt(i uint64) uint64 {
	k := sort.Search(len(s.runs), func(k int) bool { return s.runs[k].Index > i })
	if k == 0 {
		return 0
	}
	return s.runs[k-1].Term
}

// Entries implements raft.Storage.
func (s *storage) Entries(lo, hi, maxSize uint64) ([]*pb.Entry, error) {
	switch {
	case lo < s.first:
		return nil, raft.ErrCompacted
	case hi > s.last+1 || lo > hi:
		return nil, raft.ErrUnavailable
	case lo == hi:
		return nil, nil
	}
	if ents, ok := s.cache.get(lo, hi, maxSize); ok {
		return ents, nil
	}
	var out []*pb.Entry
	var size uint64
	var ferr error
	err := s.log.ReadRange(s.p, lo, hi, func(i uint64, data []byte) bool {
		typ, d := decodeEntry(data)
		e := &pb.Entry{Index: new(i), Term: new(s.termAt(i)), Type: typ.Enum(), Data: append([]byte(nil), d...)}
		size += uint64(proto.Size(e))
		if len(out) > 0 && size > maxSize {
			return false
		}
		out = append(out, e)
		return true
	})
	if errors.Is(err, wal.ErrNotFound) {
		ferr = raft.ErrUnavailable
	} else if err != nil {
		ferr = err
	}
	if ferr != nil {
		return nil, ferr
	}
	return out, nil
}

// appendEntries writes ents (raft's Ready.Entries, consecutive) into rb and
// mirrors them.
func (s *storage) appendEntries(rb *wal.RaftBatch, ents []*pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	first := ents[0].GetIndex()
	if first < s.first || first > max(s.last, s.first-1)+1 {
		return fmt.Errorf("BUG: partition %d: append at %d, log is [%d, %d]", s.p, first, s.first, s.last)
	}
	// Drop the mirrored runs from the truncation point on.
	k := sort.Search(len(s.runs), func(k int) bool { return s.runs[k].Index >= first })
	s.runs = s.runs[:k]
	prev := s.termAt(first - 1)
	for _, e := range ents {
		rb.Append(s.p, e.GetIndex(), encodeEntry(e))
		if t := e.GetTerm(); t != prev {
			rb.SetTerm(s.p, e.GetIndex(), t)
			s.runs = append(s.runs, wal.TermRun{Index: e.GetIndex(), Term: t})
			prev = t
		}
	}
	s.last = ents[len(ents)-1].GetIndex()
	s.cache.append(ents)
	return nil
}

// restore writes a snapshot received from the leader into rb: the log
// becomes the snapshot's records, raft's first index the one after it.
func (s *storage) restore(rb *wal.RaftBatch, snap *pb.Snapshot) (snapshotPayload, error) {
	md := snap.GetMetadata()
	idx, term := md.GetIndex(), md.GetTerm()
	pl, err := decodeSnapshot(snap.GetData(), idx)
	if err != nil {
		return pl, fmt.Errorf("partition %d: snapshot at %d: %w", s.p, idx, err)
	}
	rb.Restore(s.p, idx, term, pl.state, pl.first, pl.records)
	s.first, s.last, s.snapIndex = idx+1, idx, idx
	s.runs = []wal.TermRun{{Index: idx, Term: term}}
	s.cs = proto.CloneOf(md.GetConfState())
	s.cache.reset()
	s.snapshotChanged()
	return pl, nil
}

// compact stores the state machine's snapshot at index, with cs the
// configuration in force there, and trims the log below keepFrom (raft's
// first index moves there, never back).
func (s *storage) compact(rb *wal.RaftBatch, index, keepFrom uint64, state []byte, cs *pb.ConfState) error {
	if index < s.snapIndex || index > s.last {
		return fmt.Errorf("swarmmq/replica: partition %d: compaction at %d outside (%d, %d]", s.p, index, s.snapIndex, s.last)
	}
	keepFrom = min(keepFrom, index+1)
	first := max(s.first, keepFrom)
	// The run that holds first-1 stays: raft asks for its term.
	k := sort.Search(len(s.runs), func(k int) bool { return s.runs[k].Index > first-1 })
	runFrom := uint64(0)
	if k > 0 {
		runFrom = s.runs[k-1].Index
		s.runs = s.runs[k-1:]
	}
	rb.Compact(s.p, index, keepFrom, runFrom, state)
	s.first, s.snapIndex, s.cs = first, index, proto.CloneOf(cs)
	s.cache.trim(first)
	s.snapshotChanged()
	return nil
}

// entryCache is the tail of a partition's log in memory, at most max bytes
// of data: what followers are sent and apply reads, without a Pebble read.
type entryCache struct {
	ents  []*pb.Entry // consecutive indexes
	bytes int
	max   int
}

func (c *entryCache) reset() { c.ents, c.bytes = nil, 0 }

func (c *entryCache) append(ents []*pb.Entry) {
	first := ents[0].GetIndex()
	if len(c.ents) > 0 {
		c0 := c.ents[0].GetIndex()
		switch {
		case first < c0 || first > c0+uint64(len(c.ents)):
			c.reset()
		default:
			for _, e := range c.ents[first-c0:] {
				c.bytes -= len(e.GetData())
			}
			c.ents = c.ents[:first-c0]
		}
	}
	for _, e := range ents {
		c.ents = append(c.ents, e)
		c.bytes += len(e.GetData())
	}
	n := 0
	for c.bytes > c.max && n < len(c.ents) {
		c.bytes -= len(c.ents[n].GetData())
		c.ents[n] = nil
		n++
	}
	c.ents = c.ents[n:]
}

// trim drops the entries below first.
func (c *entryCache) trim(first uint64) {
	for len(c.ents) > 0 && c.ents[0].GetIndex() < first {
		c.bytes -= len(c.ents[0].GetData())
		c.ents[0] = nil
		c.ents = c.ents[1:]
	}
}

// get returns [lo, hi) limited to maxSize (at least one entry) if the cache
// holds lo … hi-1.
func (c *entryCache) get(lo, hi, maxSize uint64) ([]*pb.Entry, bool) {
	if len(c.ents) == 0 {
		return nil, false
	}
	c0 := c.ents[0].GetIndex()
	if lo < c0 || hi > c0+uint64(len(c.ents)) {
		return nil, false
	}
	src := c.ents[lo-c0 : hi-c0]
	var size uint64
	n := 0
	for n < len(src) {
		size += uint64(proto.Size(src[n]))
		if n > 0 && size > maxSize {
			break
		}
		n++
	}
	return append([]*pb.Entry(nil), src[:n]...), true
}
