package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet's worker pool starts these at init and keeps them.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		// A pebble.Open that fails (TestServeDataDirHeld: the lock is
		// held) leaves the ticker of the disk-health checks that
		// Options.WithFSDefaults (wal/pebble.go) wrapped the FS in: only
		// DB.Close closes it. A node process exits after a failed start.
		goleak.IgnoreAnyFunction("github.com/cockroachdb/pebble/v2/vfs.(*diskHealthCheckingFS).startTickerLocked.func1"),
	)
}
