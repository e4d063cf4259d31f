package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgressLine(t *testing.T) {
	start := time.Unix(1000, 0)
	var tl tally
	tl.printed.Add(30)
	tl.withheld.Add(1)
	p := &progressLine{t: &tl, start: start}
	require.Equal(t, "printed 30, withheld 1, 15 msg/s", p.line(start.Add(2*time.Second)))
	p.count = 100
	require.Equal(t, "[=========                     ] 31/100 (withheld 1), 15 msg/s, waiting for 69 more",
		p.line(start.Add(2*time.Second)))
	require.Equal(t, "printed 30, withheld 1, 15 msg/s, elapsed 2s", tl.summary(2*time.Second))
}

// lines is an io.Writer that hands each write to a channel.
type lines chan string

func (l lines) Write(b []byte) (int, error) {
	l <- string(b)
	return len(b), nil
}

// TestProgressRun: a line per tick, prefixed, on a non-terminal; redrawn
// in place and cleared at the end on a terminal.
func TestProgressRun(t *testing.T) {
	var tl tally
	tl.printed.Add(4)
	for _, tty := range []bool{false, true} {
		w := make(lines)
		stop := (&progressLine{w: w, t: &tl, count: 10, start: time.Now(), tty: tty}).run(time.Millisecond)
		first := <-w
		if tty {
			require.Regexp(t, `^\r\x1b\[K\[=+ +\] 4/10 \(withheld 0\), \d+ msg/s, waiting for 6 more$`, first)
		} else {
			require.Regexp(t, `^consumer-client: \[=+ +\] 4/10 \(withheld 0\), \d+ msg/s, waiting for 6 more\n$`, first)
		}
		stopped := make(chan struct{})
		go func() {
			stop()
			close(stopped)
		}()
		var last string
		for done := false; !done; {
			select {
			case last = <-w:
			case <-stopped:
				done = true
			}
		}
		if tty {
			require.Equal(t, "\r\x1b[K", last)
		}
	}
}
