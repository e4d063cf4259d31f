package replica

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

var propSeed = flag.Uint64("replica.seed", 0, "seed of TestRandomFaults (0: random)")

// TestRandomFaults drives 3–5 nodes and 2 partitions through random
// proposals, lost and delayed messages, cut links, ticks and power cuts
// (only fsynced data survives), then heals everything and checks:
//   - every replica applies the same entry at each index (testSM.Apply checks
//     against every other node's), none twice in one run of a node;
//   - every proposal has exactly one outcome, and one acknowledged at index i
//     was applied at i, and ends up applied on every replica;
//   - an isolated leader steps down within two CheckQuorum periods.
func TestRandomFaults(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (-replica.seed=%d to replay)", seed, seed)
	for run := range uint64(4) {
		t.Run(fmt.Sprintf("run=%d", run), func(t *testing.T) { randomRun(t, seed+run) })
	}
}

func randomRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := 3 + rng.IntN(3)
	e := newEnv(t, n, 2)
	e.keep, e.every = 1+rng.IntN(4), 2+rng.IntN(6)
	if rng.IntN(2) == 0 {
		e.cache = 1 + rng.IntN(8) // a tail of 0–2 entries: most reads go to Pebble
	}
	var props []*ackCtx
	propKey := map[*ackCtx]uint32{}
	for step := range 300 {
		switch r := rng.IntN(100); {
		case r < 35:
			p := uint32(rng.IntN(2))
			if id := e.leader(p); id != 0 {
				a := &ackCtx{name: fmt.Sprintf("s%d", step)}
				if err := e.nodes[id-1].eng.Propose(p, []byte(a.name), a); err == nil {
					props = append(props, a)
					propKey[a] = p
				}
			}
		case r < 60:
			e.stepAll(0)
			// Deliver a random share; reorder by delivering in two halves.
			if rng.IntN(4) == 0 {
				k := rng.IntN(len(e.queue) + 1)
				e.drop(k)
			}
			e.deliver()
		case r < 80:
			e.stepAll(1)
			e.deliver()
		case r < 86:
			a, b := uint64(1+rng.IntN(n)), uint64(1+rng.IntN(n))
			e.cut[[2]uint64{a, b}], e.cut[[2]uint64{b, a}] = true, true
		case r < 92:
			clear(e.cut)
		case r < 95:
			nd := e.nodes[rng.IntN(n)]
			if !nd.down {
				nd.crash()
				nd.start()
			}
		default:
			checkStepDown(t, e, uint32(rng.IntN(2)))
		}
	}
	// Heal, elect, settle.
	clear(e.cut)
	for range 200 {
		e.stepAll(1)
		e.deliver()
		e.stabilize()
		if settled(e) {
			break
		}
	}
	require.True(t, settled(e), "not settled:\n%s", e.status())
	for _, nd := range e.nodes {
		nd.stop() // fails what is still pending with ErrStopped
	}
	acked := 0
	for _, a := range props {
		p := propKey[a]
		switch {
		case a.index != 0 && a.err != nil:
			t.Fatalf("%s: applied at %d and lost (%v)", a.name, a.index, a.err)
		case a.index == 0 && a.err == nil:
			t.Fatalf("%s: no outcome", a.name)
		case a.index != 0:
			acked++
			require.Equal(t, a.name, e.global[p][a.index], "%s acknowledged at %d", a.name, a.index)
		}
	}
	t.Logf("%d nodes, %d proposals, %d acknowledged", n, len(props), acked)
}

// settled: every partition has a leader, and every replica applied its
// commit index.
func settled(e *env) bool {
	for p := range e.parts {
		id := e.leader(p)
		if id == 0 {
			return false
		}
		lg := e.nodes[id-1].eng.groups[p]
		for _, nd := range e.nodes {
			if nd.eng.groups[p].applied != lg.applied {
				return false
			}
		}
	}
	return true
}

// checkStepDown isolates the leader of p, ticks it for two CheckQuorum
// periods and checks it stepped down, then heals.
func checkStepDown(t *testing.T, e *env, p uint32) {
	id := e.leader(p)
	if id == 0 {
		return
	}
	for _, nd := range e.nodes {
		if nd.id != id {
			e.cut[[2]uint64{id, nd.id}], e.cut[[2]uint64{nd.id, id}] = true, true
		}
	}
	nd := e.nodes[id-1]
	for range 2 * DefaultElectionTicks {
		nd.step(1)
		e.deliver()
	}
	require.False(t, nd.eng.groups[p].leader, "isolated leader n%d of p%d did not step down", id, p)
	clear(e.cut)
}
