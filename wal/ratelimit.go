package wal

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logEvery is the shortest interval between two log lines of the same kind
// from the storage layer (Pebble's errors, failed disk-usage checks, the
// disk-full reminder). A full disk makes Pebble retry and report the same
// failure many times a second; one line per kind and interval, with the
// count of the lines left out, says the same.
const logEvery = 10 * time.Second

// limiter lets through at most one log line per kind and interval and
// counts the others. It is safe for concurrent use.
type limiter struct {
	every time.Duration
	now   func() time.Time
	mu    struct {
		sync.Mutex
		kinds map[string]*limitEntry
	}
}

// limitEntry is the state of one kind of line.
type limitEntry struct {
	last       time.Time
	suppressed int
}

func newLimiter(every time.Duration, now func() time.Time) *limiter {
	r := &limiter{every: every, now: now}
	r.mu.kinds = map[string]*limitEntry{}
	return r
}

// allow reports whether a line of kind may be logged now and, if so, how
// many lines of that kind were left out since the last one logged.
func (r *limiter) allow(kind string) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	e := r.mu.kinds[kind]
	if e == nil {
		r.mu.kinds[kind] = &limitEntry{last: now}
		return true, 0
	}
	if now.Sub(e.last) < r.every {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	return true, n
}

// log logs msg to lg at level unless a line of the same kind was logged
// less than the interval ago; the line carries "suppressed" when others
// were left out.
func (r *limiter) log(lg *slog.Logger, level slog.Level, kind, msg string, attrs ...slog.Attr) {
	ok, n := r.allow(kind)
	if !ok {
		return
	}
	if n > 0 {
		attrs = append(attrs, slog.Int("suppressed", n))
	}
	lg.LogAttrs(context.Background(), level, msg, attrs...)
}
