package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 250 * time.Millisecond

// tally counts what consume did. Safe for concurrent use: consume adds,
// the progress line reads.
type tally struct {
	printed  atomic.Int64 // printed and acknowledged
	withheld atomic.Int64 // deliveries with Err: reported, not acknowledged
}

// handled is what --count counts: deliveries printed or withheld.
func (t *tally) handled() int64 { return t.printed.Load() + t.withheld.Load() }

// summary is the final line: counts, rate and time.
func (t *tally) summary(elapsed time.Duration) string {
	printed := t.printed.Load()
	return fmt.Sprintf("printed %d, withheld %d, %s msg/s, elapsed %s",
		printed, t.withheld.Load(), rate(printed, elapsed), elapsed.Round(time.Millisecond))
}

// rate formats n per elapsed as a whole number of messages per second.
func rate(n int64, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", float64(n)/elapsed.Seconds())
}

// progress renders the progress on stderr: one line redrawn in place on a
// terminal, a line per tick elsewhere.
type progress struct {
	w     io.Writer
	t     *tally
	count int // --count, 0 = no limit
	start time.Time
	tty   bool
}

// barWidth is the width of the bar between brackets.
const barWidth = 30

// line renders the progress at now. With --count it says how many are
// still awaited, since without --timeout the consumer waits for them.
func (p *progress) line(now time.Time) string {
	printed, withheld := p.t.printed.Load(), p.t.withheld.Load()
	r := rate(printed, now.Sub(p.start))
	if p.count <= 0 {
		return fmt.Sprintf("printed %d, withheld %d, %s msg/s", printed, withheld, r)
	}
	done := min(printed+withheld, int64(p.count))
	n := int(done * barWidth / int64(p.count))
	bar := strings.Repeat("=", n) + strings.Repeat(" ", barWidth-n)
	return fmt.Sprintf("[%s] %d/%d (withheld %d), %s msg/s, waiting for %d more",
		bar, done, p.count, withheld, r, int64(p.count)-done)
}

// start runs the progress line until the returned function is called,
// which clears it on a terminal.
func (p *progress) run(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case now := <-tick.C:
				if p.tty {
					fmt.Fprintf(p.w, "\r\033[K%s", p.line(now))
				} else {
					fmt.Fprintln(p.w, "consumer-client:", p.line(now))
				}
			case <-done:
				if p.tty {
					fmt.Fprint(p.w, "\r\033[K")
				}
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
