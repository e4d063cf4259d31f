package stages

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/stages/adminapi"
)

func startNode(t *testing.T) *Node {
	t.Helper()
	n, err := New(Options{ClientAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, n.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, n.Stop(ctx))
	})
	return n
}

// call sends method path with body to n's admin API.
func call(t *testing.T, n *Node, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.HTTPAddr().String()+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// TestAdminWritesNeedTheLeader: a node that does not lead a destination's
// partition answers its writes, and its reads of that destination that
// ask for the leader (?leader=1), 421 with the partition, and changes
// nothing; reads that do not ask are answered from its replica; the
// destinations it leads still take their writes.
func TestAdminWritesNeedTheLeader(t *testing.T) {
	n := startNode(t)
	code, _ := call(t, n, http.MethodPost, "/v1/destinations", `{"name":"orders"}`)
	require.Equal(t, http.StatusCreated, code)
	p := route.Partition([]byte("orders"), n.opts.Partitions)
	n.owners.SetLeader(p, false)

	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/destinations/orders/purge", ""},
		{http.MethodDelete, "/v1/destinations/orders", ""},
		{http.MethodPost, "/v1/destinations/orders/groups/g/reset", `{"to":"latest"}`},
		{http.MethodPost, "/v1/destinations", `{"name":"orders","max_msgs":3}`},
		{http.MethodPatch, "/v1/destinations/orders", `{"max_msgs":3}`},
		{http.MethodGet, "/v1/destinations/orders?leader=1", ""},
		{http.MethodGet, "/v1/destinations/orders/groups?leader=1", ""},
		{http.MethodGet, "/v1/destinations/orders/messages/1?leader=1", ""},
	} {
		code, body := call(t, n, c.method, c.path, c.body)
		require.Equal(t, http.StatusMisdirectedRequest, code, "%s %s: %s", c.method, c.path, body)
		var e adminapi.APIError
		require.NoError(t, json.Unmarshal(body, &e))
		require.NotNil(t, e.Partition)
		require.Equal(t, p, *e.Partition)
		require.Contains(t, e.Error, "this node does not lead partition")
		require.False(t, e.MayHaveApplied)
	}
	for _, path := range []string{"/v1/destinations", "/v1/destinations/orders", "/v1/destinations/orders/groups"} {
		code, body := call(t, n, http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, code, "%s: served from the replica here: %s", path, body)
	}
	code, body := call(t, n, http.MethodGet, "/v1/destinations/orders", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"name": "orders"`)

	n.owners.SetLeader(p, true)
	code, _ = call(t, n, http.MethodPost, "/v1/destinations/orders/purge", "")
	require.Equal(t, http.StatusOK, code)
	code, _ = call(t, n, http.MethodGet, "/v1/destinations/orders?leader=1", "")
	require.Equal(t, http.StatusOK, code)
}

// TestAdminWriteBadInput: bad names, bodies and values are answered 400
// and change nothing.
func TestAdminWriteBadInput(t *testing.T) {
	n := startNode(t)
	for _, c := range []struct{ method, path, body, want string }{
		{http.MethodPost, "/v1/destinations", `{"name":"a b"}`, "bad destination name"},
		{http.MethodPost, "/v1/destinations", `{"name":"x","retention":"forever"}`, "retention"},
		{http.MethodPost, "/v1/destinations", `{"name":"x","max_age_seconds":1e300}`, "out of range"},
		{http.MethodPost, "/v1/destinations", `{"name":"x","bogus":1}`, "unknown field"},
		{http.MethodPost, "/v1/destinations", `{`, "cannot read the request body"},
		{http.MethodPost, "/v1/destinations/q/groups/g/reset", `{"to":"seq"}`, "seq must be 1 or more"},
		{http.MethodPost, "/v1/destinations/q/groups/g/reset", `{"to":"time","time":"noon"}`, "RFC 3339"},
		{http.MethodPost, "/v1/destinations/q/groups/g/reset", `{"to":"first"}`, "want earliest, latest, seq or time"},
		{http.MethodPost, "/v1/destinations/q/groups/a%20b/reset", `{"to":"latest"}`, "bad group name"},
		{http.MethodGet, "/v1/destinations/q/messages/0", "", "bad seq"},
		{http.MethodGet, "/v1/destinations/q/messages/-1", "", "bad seq"},
		{http.MethodPost, "/v1/destinations/q.dlq/replay", "", "replay names the destination"},
		{http.MethodPatch, "/v1/destinations/q", `{}`, "nothing to change"},
		{http.MethodPatch, "/v1/destinations/q", `{"retention":"forever"}`, "retention"},
		{http.MethodPatch, "/v1/destinations/q", `{"max_age_seconds":1e300}`, "out of range"},
		{http.MethodPatch, "/v1/destinations/q", `{"max_msgs":"3"}`, "cannot read the request body"},
		{http.MethodPatch, "/v1/destinations/a%20b", `{"max_msgs":3}`, "bad destination name"},
	} {
		code, body := call(t, n, c.method, c.path, c.body)
		require.Equal(t, http.StatusBadRequest, code, "%s %s %s: %s", c.method, c.path, c.body, body)
		require.Contains(t, string(body), c.want)
	}
	code, body := call(t, n, http.MethodGet, "/v1/destinations", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "[]\n", string(body))
}
