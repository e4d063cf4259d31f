package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

func nodeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%d", i+1)
	}
	return ids
}

// TestTable pins the placement of small clusters: a change of the hash or
// the tie rule moves data between nodes of a running cluster, so it must
// show up as a diff of testdata/table.
func TestTable(t *testing.T) {
	datadriven.RunTest(t, "testdata/table", func(t *testing.T, d *datadriven.TestData) string {
		var parts, r int
		var nodes string
		d.ScanArgs(t, "partitions", &parts)
		d.ScanArgs(t, "r", &r)
		d.ScanArgs(t, "nodes", &nodes)
		tab, err := Table(uint32(parts), strings.Split(nodes, ","), r)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		var b strings.Builder
		for p, rs := range tab {
			fmt.Fprintf(&b, "%d: %s\n", p, strings.Join(rs, " "))
		}
		return b.String()
	})
}

// TestReplicasMatchesNaive holds Replicas against picking the heaviest
// remaining node r times.
func TestReplicasMatchesNaive(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 500 {
		nodes := nodeIDs(1 + rng.IntN(9))
		rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		r := 1 + rng.IntN(6)
		p := rng.Uint32()
		got, err := Replicas(p, nodes, r)
		require.NoError(t, err)
		left := slices.Clone(nodes)
		var want []string
		for len(want) < r && len(left) > 0 {
			best := 0
			for i := range left {
				if Weight(p, left[i]) > Weight(p, left[best]) {
					best = i
				}
			}
			want = append(want, left[best])
			left = slices.Delete(left, best, best+1)
		}
		require.Equal(t, want, got, "p=%d r=%d nodes=%v", p, r, nodes)
	}
}

func TestReplicasOrderIndependent(t *testing.T) {
	nodes := nodeIDs(7)
	rev := slices.Clone(nodes)
	slices.Reverse(rev)
	for p := range uint32(256) {
		a, err := Replicas(p, nodes, 3)
		require.NoError(t, err)
		b, err := Replicas(p, rev, 3)
		require.NoError(t, err)
		require.Equal(t, a, b)
	}
}

func TestReplicasCapped(t *testing.T) {
	for n := 1; n <= 4; n++ {
		rs, err := Replicas(7, nodeIDs(n), 5)
		require.NoError(t, err)
		require.Len(t, rs, n)
	}
}

func TestCheckListsEveryProblem(t *testing.T) {
	_, err := Replicas(0, []string{"a", "", "a"}, 0)
	require.Error(t, err)
	for _, want := range []string{"replication factor 0", "empty node id", `duplicate node id "a"`} {
		require.ErrorContains(t, err, want)
	}
	_, err = Table(4, nil, 3)
	require.ErrorIs(t, err, ErrNoNodes)
}

// slots counts the replica slots each node holds.
func slots(tab [][]string) map[string]int {
	c := map[string]int{}
	for _, rs := range tab {
		for _, n := range rs {
			c[n]++
		}
	}
	return c
}

// TestBalance checks that every node of 5–7 holds close to its share
// R·P/N of the replica slots and of the preferred leaderships.
func TestBalance(t *testing.T) {
	const parts, r = 4096, 3
	for n := 5; n <= 7; n++ {
		t.Run("nodes="+strconv.Itoa(n), func(t *testing.T) {
			tab, err := Table(parts, nodeIDs(n), r)
			require.NoError(t, err)
			share := float64(parts*r) / float64(n)
			lead := map[string]int{}
			for _, rs := range tab {
				lead[rs[0]]++
			}
			for node, c := range slots(tab) {
				require.InDelta(t, share, c, share*0.08, "slots of %s", node)
				require.InDelta(t, float64(parts)/float64(n), lead[node], float64(parts)/float64(n)*0.12, "leads of %s", node)
			}
		})
	}
}

// TestMinimalMovement adds and removes a node: only the slots the change
// must move, move.
func TestMinimalMovement(t *testing.T) {
	const parts, r = 4096, 3
	for n := 5; n <= 7; n++ {
		before, err := Table(parts, nodeIDs(n), r)
		require.NoError(t, err)
		added, err := Table(parts, nodeIDs(n+1), r)
		require.NoError(t, err)
		newNode := nodeIDs(n + 1)[n]
		moved := 0
		for p := range before {
			for _, node := range before[p] {
				if !slices.Contains(added[p], node) {
					moved++
					require.Contains(t, added[p], newNode, "p=%d lost %s to a node other than the new one", p, node)
				}
			}
		}
		want := float64(parts*r) / float64(n+1)
		require.InDelta(t, want, moved, want*0.1, "slots moved by adding a node to %d", n)

		// Removing node-1: each partition keeps every other replica.
		gone := nodeIDs(n)[0]
		removed, err := Table(parts, nodeIDs(n)[1:], r)
		require.NoError(t, err)
		for p := range before {
			for _, node := range before[p] {
				if node != gone {
					require.Contains(t, removed[p], node, "p=%d", p)
				}
			}
		}
	}
}

func TestHosted(t *testing.T) {
	nodes := nodeIDs(5)
	tab, err := Table(16, nodes, 3)
	require.NoError(t, err)
	total := 0
	for _, n := range nodes {
		h, err := Hosted(16, nodes, 3, n)
		require.NoError(t, err)
		for _, p := range h {
			require.Contains(t, tab[p], n)
		}
		total += len(h)
	}
	require.Equal(t, 16*3, total)
}
