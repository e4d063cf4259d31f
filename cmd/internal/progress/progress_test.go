package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		want        int // '=' in the bar
	}{{0, 10, 0}, {5, 10, 15}, {10, 10, 30}, {20, 10, 30}, {1, 0, 30}} {
		b := Bar(c.done, c.total)
		if len(b) != barWidth || strings.Count(b, "=") != c.want {
			t.Errorf("Bar(%d, %d) = %q, want %d of %d filled", c.done, c.total, b, c.want, barWidth)
		}
	}
}

func TestRate(t *testing.T) {
	if got := Rate(500, 2*time.Second); got != "250" {
		t.Errorf("Rate(500, 2s) = %s", got)
	}
	if got := Rate(5, 0); got != "0" {
		t.Errorf("Rate(5, 0) = %s", got)
	}
}

// TestRunStopsAndClears: after stop, Run returns; on a terminal the line is
// cleared last, elsewhere every line carries the prefix.
func TestRunStopsAndClears(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var w bytes.Buffer
		stop := make(chan struct{})
		drawn := make(chan struct{}, 1)
		done := make(chan struct{})
		go func() {
			Run(&w, tty, "x: ", time.Millisecond, func(time.Time) string {
				select {
				case drawn <- struct{}{}:
				default:
				}
				return "line"
			}, stop)
			close(done)
		}()
		<-drawn
		close(stop)
		<-done
		out := w.String()
		if tty && !strings.HasSuffix(out, "\r\033[K") {
			t.Errorf("terminal output %q not cleared at the end", out)
		}
		if !tty && !strings.HasPrefix(out, "x: line\n") {
			t.Errorf("output %q", out)
		}
	}
}
