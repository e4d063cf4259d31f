package rlog

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/plog/plogtest"
	"github.com/swarmmq/swarmmq/wal"
)

// noPeers is the transport of groups of one replica.
type noPeers struct{}

func (noPeers) Send([]replica.Message) {}

// TestContract holds the raft log (one replica per group) to the
// partition log's contract.
func TestContract(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		plogtest.RunWith(t, seed, plogtest.Options{Gaps: true}, func(t *testing.T, deps plog.Deps, partitions uint32) graph.Stage {
			wl, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: partitions, MinFree: -1})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, wl.Close()) })
			incs, err := LoadIncarnations(wl, "n1", []string{"n1"})
			require.NoError(t, err)
			require.NoError(t, incs.SetOwn(0))
			opts := Options{Self: "n1", Nodes: []Node{{ID: "n1", Client: "127.0.0.1:9001"}}, Incarnations: incs}
			for p := range partitions {
				opts.Groups = append(opts.Groups, Group{Partition: p, Replicas: []string{"n1"}})
			}
			l, err := New(opts, Deps{Deps: deps, Log: wl, Transport: noPeers{}})
			require.NoError(t, err)
			led := deps.Owners.Load()
			require.NoError(t, l.Start())
			t.Cleanup(func() { require.NoError(t, l.Stop(context.Background())) })
			promote(t, deps, partitions, func(p uint32) bool { return led.Leads(p) })
			return l
		})
	}
}

// promote plays the applier until every partition's Lead came out:
// promotes the node for the partitions want says (the others stay not
// led, as the contract test wants).
func promote(t *testing.T, deps plog.Deps, partitions uint32, want func(p uint32) bool) {
	t.Helper()
	seen := map[uint32]bool{}
	deadline := time.After(10 * time.Second)
	for uint32(len(seen)) < partitions {
		for _, ring := range deps.Out {
			for _, o := range ring.PopBatch(nil, 64) {
				require.Equal(t, plog.Lead, o.Kind, "before any proposal only Lead comes out")
				seen[o.Entry.Partition] = true
				if want(o.Entry.Partition) {
					require.True(t, deps.Owners.Promote(o.Entry.Partition, o.Leader))
				}
			}
		}
		if uint32(len(seen)) == partitions {
			return
		}
		select {
		case <-deps.Out[0].C():
		case <-deps.Out[len(deps.Out)-1].C():
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("only %d of %d partitions elected a leader", len(seen), partitions)
		}
	}
}
