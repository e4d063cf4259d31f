package wal

import (
	"context"
	"fmt"
	"runtime/pprof"
	"time"
)

// startSyncer starts the interval syncer, the only goroutine the package
// owns. Close stops it and waits for it.
func (l *Log) startSyncer(every time.Duration) {
	tick, stop := l.hooks.tick, func() {}
	if tick == nil {
		t := time.NewTicker(every)
		tick, stop = t.C, t.Stop
	}
	l.wg.Go(func() {
		defer stop()
		labels := pprof.Labels("swarmmq", "wal-syncer")
		pprof.Do(context.Background(), labels, func(context.Context) { l.syncLoop(tick) })
	})
}

// syncLoop fsyncs the WAL on every tick that follows an append, until quit
// is closed. A failed sync fails the Log; the loop goes on idling so that
// Close finds it as usual.
func (l *Log) syncLoop(tick <-chan time.Time) {
	for {
		select {
		case <-l.quit:
			return
		case <-tick:
		}
		var err error
		if l.dirty.Swap(false) {
			if err = l.syncWAL(); err == nil {
				l.m.intervalSyncs.Inc()
			}
		}
		if l.hooks.synced != nil {
			l.hooks.synced(err)
		}
	}
}

// syncWAL makes every batch applied so far durable: it commits an empty
// LogData record with Sync set and waits for its fsync, which covers the WAL
// up to that record.
func (l *Log) syncWAL() error {
	l.life.RLock()
	defer l.life.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if l.ro.Load() {
		return nil // nothing was applied
	}
	b := l.db.NewBatch()
	_ = b.LogData(nil, nil)
	if err := l.commitSync(b); err != nil {
		return fmt.Errorf("swarmmq/wal: interval sync: %w", err)
	}
	return nil
}
