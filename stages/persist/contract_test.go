package persist

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/plog/plogtest"
	"github.com/swarmmq/swarmmq/wal"
)

// TestContract holds the local log to the partition log's contract.
func TestContract(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		plogtest.Run(t, seed, func(t *testing.T, deps plog.Deps, partitions uint32) graph.Stage {
			log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: partitions})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, log.Close()) })
			s, err := New(Options{MaxBatch: 16}, Deps{Deps: deps, Log: log})
			require.NoError(t, err)
			require.NoError(t, s.Start())
			return s
		})
	}
}
