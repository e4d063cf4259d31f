package perf

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// fakeTarget is an in-memory broker: a stream is a buffered channel of
// payloads; a producer acks on a goroutine of its own, window-bounded.
type fakeTarget struct {
	mu       sync.Mutex
	streams  map[string]chan []byte
	restarts []string
}

func newFakeTarget() *fakeTarget { return &fakeTarget{streams: map[string]chan []byte{}} }

func (f *fakeTarget) stream(name string) chan []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.streams[name]
	if !ok {
		s = make(chan []byte, 1<<16)
		f.streams[name] = s
	}
	return s
}

func (f *fakeTarget) Info() TargetInfo {
	return TargetInfo{System: "fake", Version: "1", Embedded: true, Fsync: FsyncAlways, Config: "in memory",
		Notes: map[string]string{WorkPublish: "channel send"}}
}

func (f *fakeTarget) Restart(_ context.Context, fsync string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarts = append(f.restarts, fsync)
	return nil
}

func (f *fakeTarget) Close(context.Context) error { return nil }

type fakeProducer struct {
	s       chan []byte
	acks    chan int64
	acked   func(int64, error)
	pending sync.WaitGroup
	done    sync.WaitGroup
}

func (f *fakeTarget) Producer(_ context.Context, stream string, opts ProducerOptions) (Producer, error) {
	p := &fakeProducer{s: f.stream(stream), acks: make(chan int64, opts.Window), acked: opts.Acked}
	p.done.Go(func() {
		for sent := range p.acks {
			p.acked(sent, nil)
			p.pending.Done()
		}
	})
	return p, nil
}

// store keeps a copy of payload if the stream has room (a publish-only
// workload never reads it).
func (p *fakeProducer) store(payload []byte) {
	select {
	case p.s <- append([]byte(nil), payload...):
	default:
	}
}

func (p *fakeProducer) PublishAsync(ctx context.Context, payload []byte) error {
	p.store(payload)
	p.pending.Add(1)
	select {
	case p.acks <- Stamp(payload):
		return nil
	case <-ctx.Done():
		p.pending.Done()
		return ctx.Err()
	}
}

func (p *fakeProducer) Publish(_ context.Context, payload []byte) error {
	p.store(payload)
	return nil
}

func (p *fakeProducer) Flush(context.Context) error {
	p.pending.Wait()
	return nil
}

func (p *fakeProducer) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	close(p.acks)
	p.done.Wait()
	return err
}

type fakeConsumer struct {
	s     chan []byte
	opts  ConsumerOptions
	count atomic.Int64
}

func (f *fakeTarget) Consumer(_ context.Context, stream, _ string, opts ConsumerOptions) (Consumer, error) {
	return &fakeConsumer{s: f.stream(stream), opts: opts}, nil
}

func (c *fakeConsumer) Run(ctx context.Context) error {
	for {
		n := 0
		for n < c.opts.Batch {
			select {
			case m := <-c.s:
				c.opts.Received(Stamp(m))
				n++
				continue
			case <-ctx.Done():
				return nil
			case <-time.After(time.Millisecond):
			}
			break
		}
		c.count.Add(int64(n))
		if c.opts.Confirmed && n > 0 && c.opts.AckConfirmed != nil {
			c.opts.AckConfirmed(10 * time.Microsecond)
		}
	}
}

func (c *fakeConsumer) Close(context.Context) error { return nil }
