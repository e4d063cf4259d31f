// Package progress draws the progress line of the client commands: one line
// redrawn in place on a terminal, a line per tick elsewhere.
package progress

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// barWidth is the width of a bar between its brackets.
const barWidth = 30

// Rate formats n per elapsed as a whole number of messages per second.
func Rate(n int64, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", float64(n)/elapsed.Seconds())
}

// Bar returns a bar filled done/total of its width (full beyond total).
func Bar(done, total int64) string {
	n := barWidth
	if total > 0 {
		n = int(min(done*barWidth/total, barWidth))
	}
	return strings.Repeat("=", n) + strings.Repeat(" ", barWidth-n)
}

// Run writes line(now) to w every interval until stop is closed: redrawn in
// place on a terminal (cleared at the end), else one line per tick after
// prefix.
func Run(w io.Writer, tty bool, prefix string, interval time.Duration, line func(now time.Time) string, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if tty {
				fmt.Fprintf(w, "\r\033[K%s", line(now))
			} else {
				fmt.Fprintln(w, prefix+line(now))
			}
		case <-stop:
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			return
		}
	}
}
