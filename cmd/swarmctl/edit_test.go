package main

import (
	"testing"

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
