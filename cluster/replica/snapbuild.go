package replica

import (
	"errors"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/swarmmq/swarmmq/wal"
)

// Building the snapshot a leader sends, off the loop. The payload carries
// the state and every record it points at (snapshot.go), read from Pebble:
// megabytes for a partition with a backlog. Built in the loop (raft calls
// Storage.Snapshot while it handles a follower's response) that read would
// hold up every partition the loop drives. So Storage.Snapshot only
// returns a payload already built for the partition's current snapshot;
// otherwise it asks the builder for one and returns
// raft.ErrSnapshotTemporarilyUnavailable, which raft takes as "not now":
// it sends nothing and asks again at its next attempt to catch the
// follower up (every heartbeat response, so within a tick or two of the
// payload being ready).
//
// The builder is a goroutine of the engine (started by Start). It reads the
// stored snapshot and the records from the lowest one in the log to the
// snapshot's index, the range the loop noted when it asked. The loop may
// compact meanwhile (a newer snapshot, records trimmed) or restore one from
// a leader: each Pebble read is consistent on its own, so a build whose
// snapshot is no longer the stored one, or whose records have a gap, is
// stale and thrown away, and the loop installs a payload only if the
// partition's snapshot is still the one it was built for (gen). A payload
// is kept until the snapshot changes or the leader hears that a send
// succeeded.

// errStale marks a build overtaken by a compaction or a restore.
var errStale = errors.New("swarmmq/replica: snapshot changed while being built")

// buildReq is the loop's request for a partition's payload.
type buildReq struct {
	p           uint32
	gen         uint64 // storage.gen when asked
	index, term uint64
	recFirst    uint64 // lowest record in the log; 0: none to ship
	cs          *pb.ConfState
}

// built is a builder's answer.
type built struct {
	req  buildReq
	snap *pb.Snapshot
	err  error
}

// requestBuild queues r for the builder (called from the loop).
func (e *Engine) requestBuild(r buildReq) {
	e.bq.Lock()
	e.bq.reqs = append(e.bq.reqs, r)
	e.bq.Unlock()
	select {
	case e.bwake <- struct{}{}:
	default:
	}
}

// builder is the goroutine that builds payloads until Stop.
func (e *Engine) builder() {
	defer close(e.bdone)
	for {
		select {
		case <-e.quit:
			return
		case <-e.bwake:
			e.buildPending()
		}
	}
}

// buildPending builds every queued request and hands the payloads to the
// loop; it returns how many it built. Tests without a running engine call
// it by hand.
func (e *Engine) buildPending() int {
	e.bq.Lock()
	reqs := e.bq.reqs
	e.bq.reqs = nil
	e.bq.Unlock()
	for _, r := range reqs {
		if e.buildHook != nil {
			e.buildHook(r.p)
		}
		snap, err := buildSnapshot(e.opts.Log, r)
		e.in.Lock()
		if !e.in.stopped {
			e.in.built = append(e.in.built, built{req: r, snap: snap, err: err})
		}
		e.in.Unlock()
		e.poke()
	}
	return len(reqs)
}

// buildSnapshot reads the partition's stored snapshot and the records it
// points at and encodes the payload raft sends.
func buildSnapshot(l *wal.Log, r buildReq) (*pb.Snapshot, error) {
	idx, state, ok, err := l.LoadSnapshot(r.p)
	switch {
	case err != nil:
		return nil, err
	case !ok || idx != r.index:
		return nil, errStale
	}
	payload := snapshotPayload{state: state}
	if r.recFirst != 0 && r.recFirst <= idx {
		payload.first = r.recFirst
		err = l.ReadRange(r.p, r.recFirst, idx+1, func(_ uint64, data []byte) bool {
			payload.records = append(payload.records, append([]byte(nil), data...))
			return true
		})
		switch {
		case errors.Is(err, wal.ErrNotFound):
			return nil, errStale // trimmed by a compaction meanwhile
		case err != nil:
			return nil, err
		case uint64(len(payload.records)) != idx-r.recFirst+1:
			return nil, errStale
		}
	}
	return &pb.Snapshot{
		Data:     appendSnapshot(nil, payload),
		Metadata: &pb.SnapshotMetadata{ConfState: r.cs, Index: new(idx), Term: new(r.term)},
	}, nil
}

// install keeps a built payload if it is still for the partition's
// snapshot; the next Snapshot call returns it.
func (s *storage) install(b built) {
	if b.req.gen != s.gen {
		return // an earlier request's; the current one is on its way
	}
	s.building = false
	switch {
	case b.err == nil:
		s.ready = b.snap
	case !errors.Is(b.err, errStale):
		s.lg.Warn("cannot build a snapshot to send", "partition", s.p, "index", b.req.index, "err", b.err.Error())
	}
}

// Snapshot implements raft.Storage: the partition's snapshot with the
// records its state points at, if built; else it asks for it to be built
// and returns raft.ErrSnapshotTemporarilyUnavailable.
func (s *storage) Snapshot() (*pb.Snapshot, error) {
	if s.snapIndex == 0 {
		return &pb.Snapshot{Metadata: &pb.SnapshotMetadata{ConfState: proto.CloneOf(s.cs), Index: new(uint64(0)), Term: new(uint64(0))}}, nil
	}
	if s.ready != nil {
		return s.ready, nil
	}
	if !s.building {
		recFirst, ok, err := s.log.FirstIndex(s.p)
		if err != nil {
			// raft panics on any other error: try again at its next attempt.
			s.lg.Warn("cannot build a snapshot to send", "partition", s.p, "index", s.snapIndex, "err", err.Error())
			return nil, raft.ErrSnapshotTemporarilyUnavailable
		}
		if !ok {
			recFirst = 0
		}
		s.building = true
		s.request(buildReq{p: s.p, gen: s.gen, index: s.snapIndex, term: s.termAt(s.snapIndex),
			recFirst: recFirst, cs: proto.CloneOf(s.cs)})
	}
	return nil, raft.ErrSnapshotTemporarilyUnavailable
}

// snapshotChanged forgets the payload built for the previous snapshot.
func (s *storage) snapshotChanged() {
	s.gen++
	s.ready = nil
	s.building = false
}
