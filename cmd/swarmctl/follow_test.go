package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/stages/adminapi"
)

// fakeMember is a cluster member's admin API, faked: /health lists the
// members; every other request is answered by answer (the nth request,
// from 0), counted.
type fakeMember struct {
	srv     *httptest.Server
	members *[]adminapi.Member
	answer  func(n int, w http.ResponseWriter)

	mu    sync.Mutex
	calls int
}

func newFakeMember(t *testing.T, members *[]adminapi.Member, answer func(n int, w http.ResponseWriter)) *fakeMember {
	f := &fakeMember{members: members, answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == adminapi.PathHealth {
			writeFake(w, http.StatusOK, adminapi.Health{NodeID: "fake", Status: "ok", Members: *f.members})
			return
		}
		f.mu.Lock()
		n := f.calls
		f.calls++
		f.mu.Unlock()
		f.answer(n, w)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMember) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeMember) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func writeFake(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func misdirected(w http.ResponseWriter, leader string, mayHaveApplied bool) {
	p := uint32(3)
	writeFake(w, http.StatusMisdirectedRequest, adminapi.APIError{Error: "this node does not lead partition 3 (destination orders)",
		Partition: &p, Leader: leader, MayHaveApplied: mayHaveApplied})
}

func purged(w http.ResponseWriter) {
	writeFake(w, http.StatusOK, adminapi.Change{Action: "purge", Destination: "orders", Partition: 3, Messages: 5})
}

// TestFollowLeader: a 421 naming the leader sends the request to the
// leader's admin address (from /health's member list); while no leader is
// known it asks again until --leader-wait runs out; a change that may
// have applied is not sent again; a leader without a known address is
// named.
func TestFollowLeader(t *testing.T) {
	t.Run("to the leader", func(t *testing.T) {
		var members []adminapi.Member
		follower := newFakeMember(t, &members, func(_ int, w http.ResponseWriter) { misdirected(w, "n2", false) })
		leader := newFakeMember(t, &members, func(_ int, w http.ResponseWriter) { purged(w) })
		members = []adminapi.Member{{ID: "n1", HTTP: follower.addr()}, {ID: "n2", HTTP: leader.addr()}}
		code, out, errOut := ctl(t, "--http", follower.addr(), "dest", "purge", "orders", "--force")
		require.Zero(t, code, errOut)
		require.Equal(t, "Purged orders: 5 messages dropped.\n", out)
		require.Equal(t, 1, follower.count())
		require.Equal(t, 1, leader.count())
	})
	t.Run("during an election", func(t *testing.T) {
		var members []adminapi.Member
		leader := newFakeMember(t, &members, func(_ int, w http.ResponseWriter) { purged(w) })
		follower := newFakeMember(t, &members, func(n int, w http.ResponseWriter) {
			if n < 3 {
				misdirected(w, "", false) // no leader known yet
				return
			}
			misdirected(w, "n2", false)
		})
		members = []adminapi.Member{{ID: "n1", HTTP: follower.addr()}, {ID: "n2", HTTP: leader.addr()}}
		code, out, errOut := ctl(t, "--http", follower.addr(), "--leader-wait", "30s", "dest", "purge", "orders", "--force")
		require.Zero(t, code, errOut)
		require.Equal(t, "Purged orders: 5 messages dropped.\n", out)
		require.Equal(t, 4, follower.count())
		require.Equal(t, 1, leader.count())
	})
	t.Run("no leader", func(t *testing.T) {
		var members []adminapi.Member
		follower := newFakeMember(t, &members, func(_ int, w http.ResponseWriter) { misdirected(w, "", false) })
		members = []adminapi.Member{{ID: "n1", HTTP: follower.addr()}}
		code, _, errOut := ctl(t, "--http", follower.addr(), "--leader-wait", "300ms", "dest", "purge", "orders", "--force")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "no leader is known for partition 3 after waiting 300ms (--leader-wait)")
		require.Greater(t, follower.count(), 1, "asked again during the wait")
	})
	t.Run("may have applied", func(t *testing.T) {
		var members []adminapi.Member
		leader := newFakeMember(t, &members, func(_ int, w http.ResponseWriter) { purged(w) })
		follower := newFakeMember(t, &members, func(_ int, w http.ResponseWriter) { misdirected(w, "n2", true) })
		members = []adminapi.Member{{ID: "n1", HTTP: follower.addr()}, {ID: "n2", HTTP: leader.addr()}}
		code, _, errOut := ctl(t, "--http", follower.addr(), "dest", "purge", "orders", "--force")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "this node does not lead partition 3")
		require.Zero(t, leader.count(), "not sent again")
	})
	t.Run("leader without an address", func(t *testing.T) {
		var members []adminapi.Member
		follower := newFakeMember(t, &members, func(_ int, w http.ResponseWriter) { misdirected(w, "n2", false) })
		members = []adminapi.Member{{ID: "n1", HTTP: follower.addr()}, {ID: "n2"}}
		code, _, errOut := ctl(t, "--http", follower.addr(), "dest", "purge", "orders", "--force")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "the leader is node n2, but "+follower.addr()+" lists no admin address for it")
	})
}

// TestClusterStatusFromHealths: a partition's leader is the node that says
// it leads it (the higher term when two do), a replica's apply lag is
// against the leader's commit index (its own when the leader is down), and
// a node that did not answer is down with its error.
func TestClusterStatusFromHealths(t *testing.T) {
	members := []adminapi.Member{{ID: "a", HTTP: "h-a"}, {ID: "b", HTTP: "h-b"}, {ID: "c", HTTP: "h-c"}}
	set := []string{"a", "b", "c"}
	first := adminapi.Health{NodeID: "a", Cluster: "k", Partitions: 2, Members: members, Status: "ok",
		PartitionsLed: []uint32{0}, Replicas: []adminapi.Replica{
			{Partition: 0, Leader: "a", Term: 2, Commit: 10, Applied: 10, Replicas: set},
			{Partition: 1, Leader: "c", Term: 3, Commit: 7, Applied: 5, Replicas: set},
		}}
	b := adminapi.Health{NodeID: "b", Partitions: 2, Status: "catching_up", Error: "behind", PartitionsLed: []uint32{0},
		Replicas: []adminapi.Replica{
			{Partition: 0, Leader: "b", Term: 1, Commit: 8, Applied: 6, Replicas: set}, // a stale claim
			{Partition: 1, Leader: "c", Term: 3, Commit: 7, Applied: 7, Replicas: set},
		}}
	cs := clusterStatus(first, []nodeHealth{{member: members[0], h: first}, {member: members[1], h: b},
		{member: members[2], err: errorString("h-c: connect: connection refused")}})
	lag := func(n uint64) *uint64 { return &n }
	require.Equal(t, []adminapi.PartitionStatus{
		{Partition: 0, Leader: "a", Term: 2, Replicas: []adminapi.ReplicaStatus{
			{ID: "a", Up: true, Applied: 10, ApplyLag: lag(0)}, {ID: "b", Up: true, Applied: 6, ApplyLag: lag(4)}, {ID: "c"}}},
		{Partition: 1, Term: 3, Replicas: []adminapi.ReplicaStatus{
			{ID: "a", Up: true, Applied: 5, ApplyLag: lag(2)}, {ID: "b", Up: true, Applied: 7, ApplyLag: lag(0)}, {ID: "c"}}},
	}, cs.Placement)
	require.False(t, cs.Nodes[2].Up)
	require.Equal(t, "catching_up", cs.Nodes[1].Status)

	var out strings.Builder
	require.NoError(t, printCluster(&out, cs))
	require.Contains(t, out.String(), "Cluster k: 2 of 3 nodes up, 1 of 2 partitions with a leader\n")
	require.Contains(t, out.String(), "b is catching_up: behind\nc is down: h-c: connect: connection refused\n")
	require.Contains(t, out.String(), "1          -       -     a 2, b 0, c down\n")
}
