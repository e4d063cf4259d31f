package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// TestClusterHeadersAfterFailover: three replicated nodes; messages with
// headers (and one without) are published to a destination, its
// partition's leader is killed, and a node that was a follower serves the
// messages with their headers intact: the header block is replicated with
// the message bytes.
func TestClusterHeadersAfterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("real node processes")
	}
	c := Start(t, Options{Bin: nodeBin(t), Nodes: 3, Cluster: &ClusterSpec{}, Flags: []string{"--min-free", "0"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const dest = "headers-0"
	opts := ClusterClient()
	opts.Addr = strings.Join(c.Addrs(), ",")
	opts.MaxReconnects = -1 // retry until the test's deadline
	cl, err := client.Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h := client.Headers{"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"content-type": {"text/plain", "charset=utf-8"}}
	if _, err := cl.PublishMsgs(ctx, dest, client.Message{Payload: []byte("one"), Headers: h},
		client.Message{Payload: []byte("two")}); err != nil {
		t.Fatal(err)
	}
	old, err := c.LeaderOf(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Kill(); err != nil {
		t.Fatal(err)
	}
	now := waitNewLeader(ctx, t, c, dest, old.Spec.ID)
	var ds []client.Delivery
	for len(ds) < 2 && ctx.Err() == nil {
		got, err := cl.Fetch(ctx, dest, "g", 10, time.Second)
		if err != nil {
			t.Logf("fetch from the new leader %s: %v (retrying)", now.Spec.ID, err)
			continue
		}
		ds = append(ds, got...)
	}
	if len(ds) != 2 {
		t.Fatalf("fetched %d deliveries from %s, want 2", len(ds), now.Spec.ID)
	}
	if d := ds[0]; d.Err != nil || string(d.Payload) != "one" || len(d.Headers) != 2 ||
		d.Headers.Get("traceparent") != h.Get("traceparent") ||
		strings.Join(d.Headers.Values("content-type"), ",") != "text/plain,charset=utf-8" {
		t.Errorf("first delivery: payload %q headers %v err %v", d.Payload, d.Headers, d.Err)
	}
	if d := ds[1]; d.Err != nil || string(d.Payload) != "two" || d.Headers != nil {
		t.Errorf("second delivery: payload %q headers %v err %v", d.Payload, d.Headers, d.Err)
	}
	t.Logf("%s led %s and was killed; %s served the headers", old.Spec.ID, dest, now.Spec.ID)
}
