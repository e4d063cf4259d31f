package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// powerLoad is the concurrent load of a power-loss run: publishers and one
// consumer per destination and group, each on its own connection.
type powerLoad struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	clients []*client.Client
	once    sync.Once
}

// startPowerLoad creates the groups (so that each gets every message), then
// starts the publishers and consumers. The load runs until stop, which the
// end of the test also calls.
func startPowerLoad(t *testing.T, cfg powerConfig, addr string, l *plLedger) *powerLoad {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pl := &powerLoad{cancel: cancel}
	t.Cleanup(pl.stop)
	setup := pl.dial(t, addr)
	for _, d := range plDests {
		for _, g := range plGroups {
			if _, err := setup.Fetch(ctx, d, g, 1, 0); err != nil {
				t.Fatalf("create group %s/%s: %v", d, g, err)
			}
		}
	}
	for i := range cfg.publishers {
		c := pl.dial(t, addr)
		rng := rand.New(rand.NewPCG(cfg.seed, uint64(100+i)))
		pl.wg.Go(func() { publishLoad(ctx, c, i, cfg, rng, l) })
	}
	for i, d := range plDests {
		for j, g := range plGroups {
			c := pl.dial(t, addr)
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(200+i*len(plGroups)+j)))
			pl.wg.Go(func() { consumeLoad(ctx, c, d, g, cfg.nackPercent, rng, l) })
		}
	}
	return pl
}

func (pl *powerLoad) dial(t *testing.T, addr string) *client.Client {
	t.Helper()
	c := dialAddr(t, addr)
	pl.clients = append(pl.clients, c)
	return c
}

// stop ends the load: it cancels it, closes the clients (which calls back
// every publish still in flight with an error) and waits for the
// goroutines. Idempotent.
func (pl *powerLoad) stop() {
	pl.once.Do(func() {
		pl.cancel()
		for _, c := range pl.clients {
			c.Close()
		}
		pl.wg.Wait()
	})
}

// publishLoad publishes up to plMaxPerPublisher messages to random
// destinations with the batched publisher, until ctx ends or the client
// fails. Each payload is unique: destination, publisher, number, filler.
func publishLoad(ctx context.Context, c *client.Client, idx int, cfg powerConfig, rng *rand.Rand, l *plLedger) {
	pubs := make([]*client.Publisher, len(plDests))
	for j, d := range plDests {
		var err error
		if pubs[j], err = c.NewPublisher(d, client.PublisherOptions{Window: cfg.window}); err != nil {
			return
		}
	}
	filler := make([]byte, cfg.maxFiller)
	for i := range filler {
		filler[i] = byte('a' + rng.IntN(26))
	}
	for k := range plMaxPerPublisher {
		j := rng.IntN(len(plDests))
		payload := fmt.Sprintf("%s/p%d/%d/%s", plDests[j], idx, k, filler[:rng.IntN(cfg.maxFiller)])
		l.sent(plDests[j], payload, c.Session())
		err := pubs[j].Publish(ctx, []byte(payload), func(r client.PublishResult) { l.published(payload, r) })
		if err != nil {
			l.unsent(payload)
			return
		}
	}
}

// consumeLoad fetches from dest for group, gives back nackPercent of the
// first deliveries and acks the rest, until ctx ends or the client fails.
func consumeLoad(ctx context.Context, c *client.Client, dest, group string, nackPercent int, rng *rand.Rand, l *plLedger) {
	for ctx.Err() == nil {
		ds, err := c.Fetch(ctx, dest, group, 100, 20*time.Millisecond)
		if err != nil {
			return
		}
		l.delivered(dest, group, ds)
		var ack, nack []client.Delivery
		for _, d := range ds {
			if d.Attempt == 1 && rng.IntN(100) < nackPercent {
				nack = append(nack, d)
			} else {
				ack = append(ack, d)
			}
		}
		if len(nack) > 0 {
			if err := c.Nack(ctx, dest, group, 0, deliverySeqs(nack)...); err != nil {
				return
			}
		}
		if len(ack) > 0 {
			l.acking(dest, group, ack)
			if err := c.Ack(ctx, dest, group, deliverySeqs(ack)...); err != nil {
				return
			}
			l.ackConfirmed(dest, group, ack)
		}
	}
}

func deliverySeqs(ds []client.Delivery) []uint64 {
	seqs := make([]uint64, len(ds))
	for i, d := range ds {
		seqs[i] = d.Seq
	}
	return seqs
}
