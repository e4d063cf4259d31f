package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// TestRunHeaders: --header KEY=VALUE (repeatable) goes with every
// message, on each publish path (window 1, batched, application ids).
func TestRunHeaders(t *testing.T) {
	for _, mode := range [][]string{{"--window", "1"}, {"--window", "100"}, {"--id", "k"}} {
		t.Run(mode[0]+"="+mode[1], func(t *testing.T) {
			s := startServer(t, clienttest.Options{})
			args := append([]string{"-d", "q", "-m", "m", "--count", "3", "-H", "traceparent=00-ab-cd-01",
				"--header", "content-type=text/plain", "-H", "x=a=b", "-H", "x="}, mode...)
			code, stderr := runArgs(t, s, "", args...)
			require.Equal(t, 0, code, stderr)
			msgs := s.Messages("q")
			require.Len(t, msgs, 3)
			for _, m := range msgs {
				var got []string
				frame.HeaderFields(m.Headers, func(k, v []byte) bool {
					got = append(got, string(k)+"="+string(v))
					return true
				})
				require.Equal(t, []string{"content-type=text/plain", "traceparent=00-ab-cd-01", "x=a=b", "x="}, got)
			}
		})
	}
}

func TestArgsBadHeaders(t *testing.T) {
	_, _, err := parse(t, "-d", "q", "-m", "x", "-H", "novalue", "-H", "bad key=v")
	require.ErrorContains(t, err, `--header "novalue": want KEY=VALUE`)
	require.ErrorContains(t, err, `--header "bad key=v": the key must be`)
	f, _, err := parse(t, "-d", "q", "-m", "x")
	require.NoError(t, err)
	f.Header = []string{"k=\xff"}
	_, err = f.Headers()
	require.ErrorContains(t, err, "the value is not valid UTF-8")
}
