package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// producer publishes payloads "<name>-<n>|…" to one destination through
// one Client (one producer session), at most Rate a second.
type producer struct {
	w    *Workload
	name string
	dest string
	n    int
	// moved is set by a publish result saying the node is the wrong one
	// (WorkloadOptions.Locate): the producer then dials again.
	moved atomic.Bool
}

// run publishes until pctx ends or Messages are out, then flushes within
// ctx. A Client that gave up (or, routing by hand, reached the wrong node)
// is replaced by a new one resuming the same producer session, so that the
// nodes still recognise retries.
func (p *producer) run(pctx, ctx context.Context) {
	who := "producer " + p.name
	opts := p.w.opts.Client
	for pctx.Err() == nil && !p.done() {
		c, addr, err := p.w.dial(pctx, who, p.dest, opts)
		if err != nil {
			return
		}
		opts.Session = c.Session()
		p.moved.Store(false)
		p.publishOn(pctx, ctx, c, addr)
		c.Close()
	}
}

func (p *producer) done() bool { return p.w.opts.Messages > 0 && p.n >= p.w.opts.Messages }

// publishOn publishes on c until pctx ends, Messages are out, c gives up
// or the node is the wrong one; then it flushes the Publisher (each
// message gets its result).
func (p *producer) publishOn(pctx, ctx context.Context, c *client.Client, addr string) {
	who := "producer " + p.name
	pub, err := c.NewPublisher(p.dest, client.PublisherOptions{Window: 256})
	if err != nil {
		p.w.rec.Error(who, "publisher", err)
		return
	}
	defer func() {
		p.w.rec.ProduceEnd(time.Now())
		fctx := ctx
		if p.moved.Load() {
			// Moving: what the old node has not answered by now fails
			// (not acknowledged) when the client closes.
			var cancel context.CancelFunc
			fctx, cancel = context.WithTimeout(ctx, 250*time.Millisecond)
			defer cancel()
		}
		if err := pub.Close(fctx); err != nil && !isClosed(err) && fctx.Err() == nil {
			p.w.rec.Error(who, "flush", err)
		}
	}()
	const ticks = 50 // a second
	per := max(1, p.w.opts.Rate/ticks)
	tick := time.NewTicker(time.Second / time.Duration(max(1, min(ticks, p.w.opts.Rate))))
	defer tick.Stop()
	pad := strings.Repeat("x", p.w.opts.PayloadSize)
	for {
		for range per {
			if p.done() || p.moved.Load() {
				return
			}
			p.n++ // an id is never used twice, even for a payload Publish refused
			id := p.name + "-" + strconv.Itoa(p.n)
			payload := []byte(id + "|" + pad[min(len(pad), len(id)+1):])
			if err := p.publish(pctx, pub, id, payload); err != nil {
				if pctx.Err() == nil {
					p.w.rec.Error(who, "publish", err)
				}
				if isClosed(err) || pctx.Err() != nil {
					return
				}
			}
		}
		select {
		case <-pctx.Done():
			return
		case <-tick.C:
		}
		if p.w.movedFrom(pctx, p.dest, addr) {
			p.moved.Store(true)
		}
	}
}

func (p *producer) publish(ctx context.Context, pub *client.Publisher, id string, payload []byte) error {
	sent := time.Now()
	return pub.Publish(ctx, payload, func(r client.PublishResult) {
		rec := Publish{Producer: p.name, Dest: p.dest, ID: id, Sent: sent, At: time.Now(), Seq: r.Seq, Duplicate: r.Duplicate}
		if r.Err != nil {
			rec.Err = r.Err.Error()
			p.w.rec.Error("producer "+p.name, "publish", fmt.Errorf("%s: %w", id, r.Err))
			if p.w.opts.Locate != nil && wrongNode(r.Err) {
				p.moved.Store(true)
			}
		} else {
			p.w.mu.Lock()
			p.w.mu.acked[destID{p.dest, id}] = true
			p.w.mu.Unlock()
		}
		p.w.rec.Publish(rec)
	})
}
