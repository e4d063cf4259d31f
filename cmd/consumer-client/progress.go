package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/cmd/internal/progress"
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
		printed, t.withheld.Load(), progress.Rate(printed, elapsed), elapsed.Round(time.Millisecond))
}

// progressLine renders the progress on stderr: one line redrawn in place on a
// terminal, a line per tick elsewhere.
type progressLine struct {
	w     io.Writer
	t     *tally
	count int // --count, 0 = no limit
	start time.Time
	tty   bool
}

// line renders the progress at now. With --count it says how many are
// still awaited, since without --timeout the consumer waits for them.
func (p *progressLine) line(now time.Time) string {
	printed, withheld := p.t.printed.Load(), p.t.withheld.Load()
	r := progress.Rate(printed, now.Sub(p.start))
	if p.count <= 0 {
		return fmt.Sprintf("printed %d, withheld %d, %s msg/s", printed, withheld, r)
	}
	done := min(printed+withheld, int64(p.count))
	return fmt.Sprintf("[%s] %d/%d (withheld %d), %s msg/s, waiting for %d more",
		progress.Bar(done, int64(p.count)), done, p.count, withheld, r, int64(p.count)-done)
}

// start runs the progress line until the returned function is called,
// which clears it on a terminal.
func (p *progressLine) run(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { progress.Run(p.w, p.tty, "consumer-client: ", interval, p.line, done) })
	return func() {
		close(done)
		wg.Wait()
	}
}
