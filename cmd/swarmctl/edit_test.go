package main

import (
	"io"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// TestEdit: dest edit changes only the limits given, through the log; the
// new limit holds for the next publish, what is stored stays; an unknown
// destination, or no flag, is an error.
func TestEdit(t *testing.T) {
	n := nodetest.Start(t, nil)
	http := "--http=" + n.HTTPAddr().String()
	code, _, errOut := ctl(t, http, "dest", "create", "small", "--max-msgs", "2", "--max-age", "1h")
	require.Zero(t, code, errOut)
	c, ctx := dial(t, n)
	_, err := c.Publish(ctx, "small", []byte("a"), []byte("b"))
	require.NoError(t, err)
	_, err = c.Publish(ctx, "small", []byte("c"))
	require.ErrorContains(t, err, "DESTINATION_FULL")

	code, out, errOut := ctl(t, http, "dest", "edit", "small", "--max-msgs", "3")
	require.Zero(t, code, errOut)
	require.Regexp(t, `^Changed small \(partition \d+\)\.\n$`, out)
	d := destInfo(t, http, "small")
	require.Equal(t, adminapi.Limits{Retention: "interest", MaxMsgs: 3, MaxBytes: d.Limits.MaxBytes, MaxAgeSeconds: 3600,
		MaxDeliver: d.Limits.MaxDeliver, AckTimeoutSeconds: d.Limits.AckTimeoutSeconds}, d.Limits, "max age kept")
	_, err = c.Publish(ctx, "small", []byte("c"))
	require.NoError(t, err)

	code, out, errOut = ctl(t, http, "--json", "dest", "edit", "small", "--max-msgs", "1", "--max-age=-1s", "--retention", "limits")
	require.Zero(t, code, errOut)
	require.Contains(t, out, `"action": "edit"`)
	d = destInfo(t, http, "small")
	require.Equal(t, int64(3), d.Depth, "stored messages stay")
	require.Equal(t, "limits", d.Limits.Retention)
	require.Equal(t, int64(1), d.Limits.MaxMsgs)
	require.Zero(t, d.Limits.MaxAgeSeconds, "unlimited")
	_, err = c.Publish(ctx, "small", []byte("d"))
	require.NoError(t, err, "limits retention drops the oldest to make room")
	require.Equal(t, int64(1), destInfo(t, http, "small").Depth)

	code, _, errOut = ctl(t, http, "dest", "edit", "small")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "nothing to change")
	code, _, errOut = ctl(t, http, "dest", "edit", "nope", "--max-msgs", "5")
	require.Equal(t, 1, code)
	require.Equal(t, "swarmctl: no destination nope: not found\n", errOut)
	code, _, errOut = ctl(t, http, "dest", "edit", "small", "--retention", "forever")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--retention must be one of")
}

// metricsHas polls n's /metrics until each series of want is present
// (true) or absent (false), or fails after 15 s (the gauges are refreshed
// once a second).
// scrapeMetrics returns the text of n's /metrics.
func scrapeMetrics(t *testing.T, n *nodetest.Node) string {
	t.Helper()
	resp, err := nethttp.Get("http://" + n.HTTPAddr().String() + "/metrics")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	return string(b)
}

func metricsHas(t *testing.T, n *nodetest.Node, want map[string]bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for {
		b := scrapeMetrics(t, n)
		ok := true
		for series, present := range want {
			if strings.Contains(b, "\n"+series+" ") != present {
				ok = false
			}
		}
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			var got []string
			for _, l := range strings.Split(b, "\n") {
				if strings.HasPrefix(l, "swarmmq_destination_") || strings.HasPrefix(l, "swarmmq_group_") {
					got = append(got, l)
				}
			}
			t.Fatalf("/metrics never matched %v:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// TestDeletedGaugesGo: the per-destination gauges and counters and the
// per-group gauges of a deleted destination, and of a deleted group,
// leave /metrics; the others stay.
func TestDeletedGaugesGo(t *testing.T) {
	n := fixture(t)
	http := "--http=" + n.HTTPAddr().String()
	const (
		ordersDepth = `swarmmq_destination_depth{destination="orders"}`
		ordersBytes = `swarmmq_destination_bytes{destination="orders"}`
		billingLag  = `swarmmq_group_lag{destination="orders",group="billing"}`
		auditDepth  = `swarmmq_destination_depth{destination="audit"}`
		auditLag    = `swarmmq_group_lag{destination="audit",group="g"}`
		ordersPub   = `swarmmq_destination_published_messages_total{destination="orders"}`
	)
	c, ctx := dial(t, n)
	_, err := c.Fetch(ctx, "audit", "g", 1, time.Second)
	require.NoError(t, err)
	metricsHas(t, n, map[string]bool{ordersDepth: true, ordersBytes: true, billingLag: true, auditDepth: true, auditLag: true,
		ordersPub: true})

	code, _, errOut := ctl(t, http, "group", "delete", "audit", "g", "--force")
	require.Zero(t, code, errOut)
	code, _, errOut = ctl(t, http, "dest", "delete", "orders", "--force")
	require.Zero(t, code, errOut)
	metricsHas(t, n, map[string]bool{ordersDepth: false, ordersBytes: false, billingLag: false, auditDepth: true, auditLag: false,
		ordersPub: false})
}
