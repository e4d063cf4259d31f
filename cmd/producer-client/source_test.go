package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/conf/clientconf"
)

// drain returns every payload of s as strings.
func drain(t *testing.T, s source) []string {
	t.Helper()
	var out []string
	for {
		p, ok, err := s.next()
		require.NoError(t, err)
		if !ok {
			return out
		}
		out = append(out, string(p))
	}
}

func TestSources(t *testing.T) {
	f := func(flags clientconf.ProducerFlags, stdin string, want []string, total int) {
		t.Helper()
		s := newSource(flags, strings.NewReader(stdin), 1<<20)
		require.Equal(t, total, s.total())
		require.Equal(t, want, drain(t, s))
	}
	f(clientconf.ProducerFlags{Message: "Hello SwarmMQ"}, "", []string{"Hello SwarmMQ"}, 1)
	f(clientconf.ProducerFlags{Message: "Hello SwarmMQ", Count: 1}, "", []string{"Hello SwarmMQ"}, 1)
	f(clientconf.ProducerFlags{Message: "m", Count: 3}, "", []string{"m-1", "m-2", "m-3"}, 3)
	f(clientconf.ProducerFlags{Size: 5, Count: 2}, "", []string{"abcde", "abcde"}, 2)
	f(clientconf.ProducerFlags{Count: 1}, "", []string{string(filler(clientconf.DefaultSize))}, 1)
	f(clientconf.ProducerFlags{Stdin: true}, "a\r\nb\n\nc", []string{"a", "b", "", "c"}, 0)
	f(clientconf.ProducerFlags{Stdin: true, Count: 2}, "a\nb\nc\n", []string{"a", "b"}, 2)
	require.Len(t, filler(30), 30)
	require.Equal(t, "abcdefghijklmnopqrstuvwxyzabcd", string(filler(30)))
}

func TestStdinLineTooLong(t *testing.T) {
	s := newSource(clientconf.ProducerFlags{Stdin: true}, strings.NewReader(strings.Repeat("x", 100)+"\n"), 10)
	_, _, err := s.next()
	require.ErrorContains(t, err, "token too long")
}

func TestPacer(t *testing.T) {
	start := time.Unix(1000, 0)
	p := pacer{rate: 4, start: start}
	require.Zero(t, p.delay(0, start))
	require.Equal(t, 250*time.Millisecond, p.delay(1, start))
	require.Equal(t, 150*time.Millisecond, p.delay(2, start.Add(350*time.Millisecond)))
	require.Zero(t, p.delay(2, start.Add(time.Second)), "late: no wait")
	require.Zero(t, pacer{start: start}.delay(1e6, start), "rate 0: unlimited")
}
