package queue

import (
	"hash/maphash"
	"sync"
)

// sessions is the dedupe state of the producer sessions that published to
// a partition (RecordSessionMessages): per producer id, a Window of the
// keys (destination, id) it stored recently. A session's keys are scoped
// to it: no other producer's message is ever compared with them, so no
// client can make another's messages look like duplicates, and the
// partition's other traffic never pushes them out. A session's Window
// holds at least its last ProducerWindow keys, which is what the client
// library keeps in flight at most (the node grants that bound in
// PRODUCER_OK), so every retry of the client library is recognised.
//
// Sessions are kept in least-recently-used order, by the partition's
// record clock (records only, so replicas and replays agree): a session
// that published nothing to the partition for ProducerIdle is dropped, and
// beyond MaxProducers sessions or MaxProducerKeys keys in all the least
// recently used are dropped first (counted in evicted).
//
// Lookup is safe for concurrent use with the partition's owner; the map
// is written under mu.mu by the owner only, which reads it without the
// lock. The LRU list and counters are the owner's.
type sessions struct {
	mu struct {
		sync.RWMutex
		m map[uint64]*session
	}
	head, tail *session // head: used most recently
	keys       int      // keys over every session
	evicted    uint64   // sessions dropped by the bounds before ProducerIdle

	idle         int64 // ProducerIdle in ns
	window       int   // ProducerWindow
	maxProducers int
	maxKeys      int
	seed         maphash.Seed // the partition's (see Window.keyHash)
}

// session is one producer's dedupe state in a partition.
type session struct {
	producer   uint64
	w          *Window
	last       int64 // partition record clock when it last stored
	prev, next *session
}

func newSessions(o *Options, seed maphash.Seed) *sessions {
	s := &sessions{
		seed:         seed,
		idle:         int64(o.ProducerIdle),
		window:       o.ProducerWindow,
		maxProducers: o.MaxProducers,
		maxKeys:      o.MaxProducerKeys,
	}
	s.mu.m = make(map[uint64]*session)
	return s
}

// lookup returns the seq producer stored for (dest, id), if remembered.
// Safe for concurrent use with the owner.
func (s *sessions) lookup(producer uint64, dest []byte, id [16]byte) (uint64, bool) {
	s.mu.RLock()
	ss := s.mu.m[producer]
	s.mu.RUnlock()
	if ss == nil {
		return 0, false
	}
	return ss.w.Lookup(dest, id)
}

// get returns producer's session, creating it, and marks it used at now.
// Owner only.
func (s *sessions) get(producer uint64, now int64) *session {
	ss := s.mu.m[producer]
	if ss == nil {
		// A session's window remembers keys for ProducerIdle: it never
		// outlives its session by time, and the count bound is at least
		// ProducerWindow (two generations of ProducerWindow keys).
		ss = &session{producer: producer, w: newWindow(s.idle, 2*s.window, s.seed)}
		s.mu.Lock()
		s.mu.m[producer] = ss
		s.mu.Unlock()
	} else {
		s.unlink(ss)
		s.keys += ss.w.expire(now)
	}
	ss.last = now
	s.pushHead(ss)
	return ss
}

// add remembers e for ss and counts it. Owner only.
func (s *sessions) add(ss *session, e winEntry) {
	ss.w.mu.Lock()
	s.addLocked(ss, e, ss.w.keyHash(e.d.h, &e.id))
	ss.w.mu.Unlock()
}

// addLocked is add with ss.w.mu held for writing, h the key's hash.
func (s *sessions) addLocked(ss *session, e winEntry, h uint64) {
	s.keys += ss.w.addLocked(e, h)
}

// expire drops the sessions idle since before now-idle (a used session's
// own expired generations go in get). Owner only.
func (s *sessions) expire(now int64) {
	limit := satSub(now, s.idle)
	for s.tail != nil && s.tail.last < limit {
		s.remove(s.tail)
	}
}

// bound drops least recently used sessions other than keep while there are
// more than maxProducers sessions or maxKeys keys. Owner only.
func (s *sessions) bound(keep *session) {
	for len(s.mu.m) > s.maxProducers || s.keys > s.maxKeys {
		victim := s.tail
		if victim == keep {
			victim = keep.prev
		}
		if victim == nil {
			return
		}
		s.remove(victim)
		s.evicted++
	}
}

func (s *sessions) remove(ss *session) {
	s.unlink(ss)
	s.keys -= ss.w.size()
	s.mu.Lock()
	delete(s.mu.m, ss.producer)
	s.mu.Unlock()
}

func (s *sessions) pushHead(ss *session) {
	ss.prev, ss.next = nil, s.head
	if s.head != nil {
		s.head.prev = ss
	}
	s.head = ss
	if s.tail == nil {
		s.tail = ss
	}
}

func (s *sessions) unlink(ss *session) {
	if ss.prev != nil {
		ss.prev.next = ss.next
	} else if s.head == ss {
		s.head = ss.next
	}
	if ss.next != nil {
		ss.next.prev = ss.prev
	} else if s.tail == ss {
		s.tail = ss.prev
	}
	ss.prev, ss.next = nil, nil
}

// oldestIndex returns the lowest log index a session key points at.
// Owner only.
func (s *sessions) oldestIndex(from uint64) uint64 {
	for ss := s.head; ss != nil; ss = ss.next {
		if e, ok := ss.w.oldest(); ok {
			from = min(from, e.loc.Index)
		}
	}
	return from
}

// count returns the number of sessions. Owner only.
func (s *sessions) count() int { return len(s.mu.m) }
