// Package plogtest checks an implementation of the partition log (package
// plog) against the seam's contract, so the local log and a replicated one
// are held to the same rules.
package plogtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/owner"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
)

// Start builds and starts an implementation of the log of the given number
// of partitions on deps; the implementation's resources are released by
// the test's cleanup.
type Start func(t *testing.T, deps plog.Deps, partitions uint32) graph.Stage

// Run proposes a seeded random mix of records (and proposals asking for no
// entry, and proposals for a partition this node does not lead) to the log
// start builds, stops it, and checks: every proposal comes out exactly
// once, on the ring of its partition's worker; a partition's outputs come
// out in the order its proposals went in; its committed entries have
// increasing indexes from 1 (consecutive unless Options.Gaps: a
// replicated log's own entries take indexes too) and carry the proposal's
// record and request; a
// proposal with no record comes out Unwritten; every proposal for the
// partition not led (with a record or not) fails with plog.ErrNotLeader.
func Run(t *testing.T, seed uint64, start Start) {
	t.Helper()
	RunWith(t, seed, Options{}, start)
}

// Options relax Run for a replicated log.
type Options struct {
	// Gaps allows indexes to skip (a raft log's own entries come not out).
	Gaps bool
}

// RunWith is Run with opts. Lead, Follow and Restore outputs are not
// proposals' outcomes and are left out of the checks.
func RunWith(t *testing.T, seed uint64, opts Options, start Start) {
	t.Helper()
	t.Logf("seed %d", seed)
	const partitions, workers, proposals = 4, 2, 300
	const notLed = 3
	rnd := rand.New(rand.NewPCG(seed, seed))
	owners, err := owner.New(partitions, workers)
	if err != nil {
		t.Fatal(err)
	}
	owners.SetLeader(notLed, false)
	deps := plog.Deps{In: graph.NewRing[plog.Proposal](32), Owners: owners,
		Now: func() int64 { return time.Now().UnixNano() }}
	for range workers {
		deps.Out = append(deps.Out, graph.NewRing[plog.Output](proposals))
	}
	log := start(t, deps, partitions)

	sent := make([][]plog.Proposal, partitions)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range proposals {
		p := plog.Proposal{Partition: uint32(rnd.IntN(partitions)), Req: work.NewRequest(work.KindAck, netio.Inbound{})}
		p.Req.Corr, p.Req.Partition = uint64(i), p.Partition
		if rnd.IntN(10) > 0 {
			p.Req.Record = queue.Record{Type: queue.RecordAck, Time: int64(i), Dest: []byte("d"), Group: []byte("g"),
				Seqs: []uint64{uint64(i)}}
			p.Record = &p.Req.Record
		}
		if err := deps.In.Push(ctx, p); err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
		sent[p.Partition] = append(sent[p.Partition], p)
	}
	if err := log.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	got := make([][]plog.Output, partitions)
	for w, ring := range deps.Out {
		for _, o := range ring.PopBatch(nil, 2*proposals) {
			if o.Kind == plog.Lead || o.Kind == plog.Follow || o.Kind == plog.Restore {
				continue
			}
			if tw := owners.Load().Worker(o.Entry.Partition); tw != w {
				t.Errorf("partition %d's output on worker %d's ring, not %d's", o.Entry.Partition, w, tw)
			}
			got[o.Entry.Partition] = append(got[o.Entry.Partition], o)
		}
	}
	for p := range partitions {
		check(t, uint32(p), p == notLed, opts.Gaps, sent[p], got[p])
	}
}

// check compares partition p's outputs with its proposals.
func check(t *testing.T, p uint32, notLed, gaps bool, sent []plog.Proposal, got []plog.Output) {
	t.Helper()
	if len(got) != len(sent) {
		t.Errorf("partition %d: %d proposals, %d outputs", p, len(sent), len(got))
		return
	}
	index := uint64(0)
	for i, o := range got {
		want := sent[i]
		if o.Entry.Req != want.Req {
			t.Errorf("partition %d output %d: request %d, want %d (order or matching lost)", p, i, o.Entry.Req.Corr, want.Req.Corr)
			return
		}
		switch {
		case notLed:
			if o.Kind != plog.Failed || !errors.Is(o.Err, plog.ErrNotLeader) {
				t.Errorf("partition %d (not led) output %d: %s %v, want failed with ErrNotLeader", p, i, o.Kind, o.Err)
			}
		case !want.Appends():
			if o.Kind != plog.Unwritten {
				t.Errorf("partition %d output %d: %s, want unwritten", p, i, o.Kind)
			}
		case o.Kind != plog.Committed:
			t.Errorf("partition %d output %d: %s %v, want committed", p, i, o.Kind, o.Err)
		default:
			index++
			if gaps && o.Entry.Index > index {
				index = o.Entry.Index
			}
			if o.Entry.Index != index || o.Entry.Record != want.Record || o.Entry.Partition != p {
				t.Errorf("partition %d output %d: entry %d/%d, want %d/%d with the proposal's record", p, i,
					o.Entry.Partition, o.Entry.Index, p, index)
			}
		}
		o.Entry.Req.Release()
	}
}
