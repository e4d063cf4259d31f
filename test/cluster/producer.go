package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// producer publishes payloads "<name>-<n>|…" over all destinations in
// turn through one Client (one producer session), at most Rate a second.
type producer struct {
	w    *Workload
	name string
	n    int
}

// run publishes until pctx ends or Messages are out, then flushes within
// ctx. A Client that gave up is replaced by a new one resuming the same
// producer session, so that the node still recognises retries.
func (p *producer) run(pctx, ctx context.Context) {
	who := "producer " + p.name
	opts := p.w.opts.Client
	for pctx.Err() == nil && !p.done() {
		c, err := p.w.dial(pctx, who, opts)
		if err != nil {
			return
		}
		opts.Session = c.Session()
		p.publishOn(pctx, ctx, c)
		c.Close()
	}
}

func (p *producer) done() bool { return p.w.opts.Messages > 0 && p.n >= p.w.opts.Messages }

// publishOn publishes on c until pctx ends, Messages are out or c gives
// up; then it flushes every Publisher (each message gets its result).
func (p *producer) publishOn(pctx, ctx context.Context, c *client.Client) {
	who := "producer " + p.name
	pubs := make([]*client.Publisher, len(p.w.opts.Dests))
	for i, d := range p.w.opts.Dests {
		pubs[i] = c.NewPublisher(d, client.PublisherOptions{Window: 256})
	}
	defer func() {
		p.w.rec.ProduceEnd(time.Now())
		for _, pub := range pubs {
			if err := pub.Close(ctx); err != nil && !isClosed(err) {
				p.w.rec.Error(who, "flush", err)
			}
		}
	}()
	const ticks = 50 // a second
	per := max(1, p.w.opts.Rate/ticks)
	tick := time.NewTicker(time.Second / time.Duration(max(1, min(ticks, p.w.opts.Rate))))
	defer tick.Stop()
	pad := strings.Repeat("x", p.w.opts.PayloadSize)
	for {
		for range per {
			if p.done() {
				return
			}
			i := p.n % len(pubs)
			p.n++ // an id is never used twice, even for a payload Publish refused
			id := p.name + "-" + strconv.Itoa(p.n)
			payload := []byte(id + "|" + pad[min(len(pad), len(id)+1):])
			if err := p.publish(pctx, pubs[i], p.w.opts.Dests[i], id, payload); err != nil {
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
	}
}

func (p *producer) publish(ctx context.Context, pub *client.Publisher, dest, id string, payload []byte) error {
	sent := time.Now()
	return pub.Publish(ctx, payload, func(r client.PublishResult) {
		rec := Publish{Producer: p.name, Dest: dest, ID: id, Sent: sent, At: time.Now(), Seq: r.Seq, Duplicate: r.Duplicate}
		if r.Err != nil {
			rec.Err = r.Err.Error()
			p.w.rec.Error("producer "+p.name, "publish", fmt.Errorf("%s: %w", id, r.Err))
		} else {
			p.w.mu.Lock()
			p.w.mu.acked[destID{dest, id}] = true
			p.w.mu.Unlock()
		}
		p.w.rec.Publish(rec)
	})
}
