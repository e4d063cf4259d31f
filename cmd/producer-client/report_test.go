package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
)

func TestStats(t *testing.T) {
	var st stats
	st.sent.Add(5)
	st.result(client.PublishResult{Seq: 1})
	st.result(client.PublishResult{Seq: 1, Duplicate: true})
	st.result(client.PublishResult{Err: errors.New("full")})
	st.result(client.PublishResult{Err: errors.New("full")})
	require.Equal(t, "sent 5, acked 2, duplicates 1, failed 2, 1 msg/s, elapsed 2s", st.summary(2*time.Second))
	require.Equal(t, []string{
		"3 of 5 messages not acknowledged",
		"2× full",
		"1× no answer (interrupted or timed out: stored or not)",
	}, st.problems())

	var ok stats
	ok.sent.Add(1)
	ok.result(client.PublishResult{Seq: 1})
	require.Nil(t, ok.problems())
}

func TestStatsBoundsReasons(t *testing.T) {
	var st stats
	for i := range 20 {
		st.fail(fmt.Errorf("reason %d", i))
	}
	require.Len(t, st.reasons, maxReasons+1)
	require.Equal(t, 20-maxReasons, st.reasons["(other errors)"])
}

func TestProgressLine(t *testing.T) {
	var st stats
	start := time.Unix(0, 0)
	st.sent.Add(60)
	st.acked.Add(50)
	p := progressLine{st: &st, total: 200, start: start}
	require.Equal(t, "[=======                       ]  25% 50/200 acked, 50 msg/s", p.line(start.Add(time.Second)))
	p.total = 0
	require.Equal(t, "sent 60, acked 50, 25 msg/s", p.line(start.Add(2*time.Second)))
}
