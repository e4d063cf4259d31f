package queue

import "sync/atomic"

// Budget bounds the bytes of retained messages that partitions keep in
// memory. A messages record is kept in memory (hot) when the budget has
// room for it when it is applied; otherwise its messages are retained by
// location only (cold), and the node reads them back from the log when it
// delivers them (Delivery.Loc). The bytes come back to the budget when the
// last message of the record is dropped.
//
// Whether a message is hot is volatile: it never changes what Apply
// decides, what Snapshot encodes or which seq a message gets, so replicas
// and replays with other budgets agree. One Budget may be shared by every
// partition of a node; it is safe for concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes (limit <= 0 keeps nothing in
// memory).
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Limit returns the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used returns the bytes held in memory now.
func (b *Budget) Used() int64 { return b.used.Load() }

// take reserves n bytes if they fit. A nil budget always has room.
func (b *Budget) take(n int64) bool {
	if b == nil {
		return true
	}
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// give returns n bytes taken before.
func (b *Budget) give(n int64) {
	if b != nil {
		b.used.Add(-n)
	}
}
