package swarm

import (
	"context"
	"sync"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/perf"
)

// producer publishes to one destination over its own Client. Its
// Publisher's done callbacks run in publish order, so the send times of
// the messages in flight wait in a FIFO rather than in a closure per
// message: one method value serves every message, and nothing is
// allocated per publish.
type producer struct {
	t     *Target
	c     *client.Client
	p     *client.Publisher
	dest  string
	acked func(int64, error)
	done  func(client.PublishResult)

	mu struct {
		sync.Mutex
		sent fifo // send times of the messages in flight, oldest first
	}
}

// Producer opens a Client and a Publisher to stream.
func (t *Target) Producer(ctx context.Context, stream string, opts perf.ProducerOptions) (perf.Producer, error) {
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	p := &producer{t: t, c: c, dest: stream, acked: opts.Acked}
	p.done = p.onDone
	if p.p, err = c.NewPublisher(stream, client.PublisherOptions{Window: opts.Window, MaxBatch: opts.Batch}); err != nil {
		c.Close()
		return nil, err
	}
	return p, nil
}

func (p *producer) PublishAsync(ctx context.Context, payload []byte) error {
	p.mu.Lock()
	p.mu.sent.push(perf.Stamp(payload))
	p.mu.Unlock()
	if err := p.p.Publish(ctx, payload, p.done); err != nil {
		p.mu.Lock()
		p.mu.sent.dropNewest()
		p.mu.Unlock()
		return err
	}
	return nil
}

func (p *producer) onDone(r client.PublishResult) {
	p.mu.Lock()
	sent := p.mu.sent.pop()
	p.mu.Unlock()
	if p.acked != nil {
		p.acked(sent, r.Err)
	}
}

func (p *producer) Publish(ctx context.Context, payload []byte) error {
	_, err := p.c.Publish(ctx, p.dest, payload)
	return err
}

func (p *producer) Flush(ctx context.Context) error { return p.p.Flush(ctx) }

func (p *producer) Close(ctx context.Context) error {
	err := p.p.Close(ctx)
	p.c.Close()
	p.t.forget(p.c)
	return err
}

// fifo is a growable ring of int64. It is not safe for concurrent use.
type fifo struct {
	buf        []int64
	head, size int
}

func (f *fifo) push(v int64) {
	if f.size == len(f.buf) {
		grown := make([]int64, max(64, 2*len(f.buf)))
		for i := range f.size {
			grown[i] = f.buf[(f.head+i)%len(f.buf)]
		}
		f.buf, f.head = grown, 0
	}
	f.buf[(f.head+f.size)%len(f.buf)] = v
	f.size++
}

// pop removes and returns the oldest value; -1 when empty.
func (f *fifo) pop() int64 {
	if f.size == 0 {
		return -1
	}
	v := f.buf[f.head]
	f.head = (f.head + 1) % len(f.buf)
	f.size--
	return v
}

// dropNewest removes the value pushed last.
func (f *fifo) dropNewest() {
	if f.size > 0 {
		f.size--
	}
}
