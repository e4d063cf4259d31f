package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/stages/adminapi"
)

// member is an in-process cluster member of TestSnapshotCatchUp.
type member struct {
	opts stages.Options
	n    *stages.Node
}

func (m *member) start(t *testing.T) {
	t.Helper()
	n, err := stages.New(m.opts)
	require.NoError(t, err)
	require.NoError(t, n.Start())
	m.n = n
}

func (m *member) stop(t *testing.T) {
	t.Helper()
	if m.n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, m.n.Stop(ctx))
	m.n = nil
}

// get reads an HTTP endpoint of m's node.
func (m *member) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + m.n.HTTPAddr().String() + path)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestSnapshotCatchUp: a follower stopped while the leader takes and
// trims snapshots (everything published is consumed and acked, so the log
// keeps nothing older) restarts on its data directory and catches up by a
// raft snapshot that carries the records its state points at: it restores
// its partition from it and ends with the leader's state.
func TestSnapshotCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three members")
	}
	ids := []string{"c1", "c2", "c3"}
	ports := freePorts(t, 2*len(ids))
	var members []stages.Member
	for i, id := range ids {
		members = append(members, stages.Member{ID: id, Client: fmt.Sprintf("127.0.0.1:%d", ports[2*i]),
			Peer: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])})
	}
	dir := t.TempDir()
	ms := make([]*member, len(ids))
	for i, id := range ids {
		o := testOptions(filepath.Join(dir, id))
		o.NodeID, o.ClientAddr, o.Partitions, o.Workers, o.SnapshotEvery = id, members[i].Client, 1, 1, 16
		o.Cluster = &stages.Cluster{Members: members, ReplicationFactor: 3}
		// Forget ids at once, so that the log keeps no old record for
		// them and snapshots trim it.
		o.Queue = queue.Options{DedupeWindow: time.Millisecond, DedupeMax: 4, ProducerIdle: time.Millisecond,
			ProducerWindow: 4, MaxProducerKeys: 8}
		ms[i] = &member{opts: o}
		t.Cleanup(func() { ms[i].stop(t) })
	}
	// Members on empty data directories decide their incarnation together
	// (each waits for a majority's answers): start them all at once.
	var wg sync.WaitGroup
	errs := make([]error, len(ms))
	for i, m := range ms {
		wg.Go(func() {
			n, err := stages.New(m.opts)
			if err == nil {
				err = n.Start()
			}
			m.n, errs[i] = n, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	leader := func(skip *member) *member {
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			for _, m := range ms {
				if m != skip && m.n != nil {
					if _, body := m.get(t, "/health"); strings.Contains(body, `"partitions_led":[0]`) {
						return m
					}
				}
			}
		}
		t.Fatal("no leader")
		return nil
	}
	lead := leader(nil)
	var follower *member
	for _, m := range ms {
		if m != lead {
			follower = m
		}
	}
	follower.stop(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: lead.opts.ClientAddr, NoReconnect: true})
	require.NoError(t, err)
	defer c.Close()
	for round := range 40 {
		_, err := c.Publish(ctx, "q", []byte(fmt.Sprintf("a-%d", round)), []byte(fmt.Sprintf("b-%d", round)))
		require.NoError(t, err)
		ds, err := c.Fetch(ctx, "q", "g", 10, 0)
		require.NoError(t, err)
		for _, d := range ds {
			require.NoError(t, c.Ack(ctx, "q", "g", d.Seq))
		}
	}
	destination := func(m *member) adminapi.Destination {
		code, body := m.get(t, "/v1/destinations/q")
		require.Equal(t, http.StatusOK, code, body)
		var d adminapi.Destination
		require.NoError(t, json.Unmarshal([]byte(body), &d))
		return d
	}
	want := destination(lead)
	require.Equal(t, uint64(80), want.LastSeq)
	require.Zero(t, want.Depth)

	follower.start(t)
	var got adminapi.Destination
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, _ := follower.get(t, "/v1/destinations/q"); code == http.StatusOK {
			if got = destination(follower); got.LastSeq == want.LastSeq {
				break
			}
		}
	}
	require.Equal(t, want.LastSeq, got.LastSeq, "the follower did not catch up")
	require.Equal(t, want.Depth, got.Depth)
	require.Len(t, got.Groups, len(want.Groups), "the group the leader logged")
	_, metrics := follower.get(t, "/metrics")
	require.Regexp(t, `swarmmq_raft_snapshots_restored_total [1-9]`, metrics, "caught up without a snapshot")
}
