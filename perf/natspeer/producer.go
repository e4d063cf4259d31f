package natspeer

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swarmmq/swarmmq/perf"
)

// producer publishes to one stream over its own connection. PublishAsync
// keeps the message until its ack (for retries), so each gets its own copy
// of the payload; the ack handler reads the send time back from it.
type producer struct {
	t    *Target
	nc   *nats.Conn
	js   jetstream.JetStream
	subj string
}

// Producer connects and makes sure the stream exists.
func (t *Target) Producer(ctx context.Context, stream string, opts perf.ProducerOptions) (perf.Producer, error) {
	nc, err := t.connect()
	if err != nil {
		return nil, err
	}
	acked := opts.Acked
	if acked == nil {
		acked = func(int64, error) {}
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(max(1, opts.Window)),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
			acked(perf.Stamp(m.Data), nil)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			acked(perf.Stamp(m.Data), err)
		}))
	if err == nil {
		err = ensureStream(ctx, js, stream)
	}
	if err != nil {
		t.forget(nc)
		return nil, err
	}
	return &producer{t: t, nc: nc, js: js, subj: stream}, nil
}

func (p *producer) PublishAsync(ctx context.Context, payload []byte) error {
	data := append([]byte(nil), payload...)
	for {
		_, err := p.js.PublishAsync(p.subj, data)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return err
		}
		if err := ctx.Err(); err != nil { // the window stayed full: wait on
			return err
		}
	}
}

func (p *producer) Publish(ctx context.Context, payload []byte) error {
	_, err := p.js.Publish(ctx, p.subj, payload)
	return err
}

func (p *producer) Flush(ctx context.Context) error {
	select {
	case <-p.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (p *producer) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	p.t.forget(p.nc)
	return err
}
