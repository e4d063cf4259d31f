package client

import "context"

// PubAckFuture is the pending result of one message published with
// Publisher.PublishAsync. Exactly one of Ok and Err delivers, once; Done,
// Result and Wait may be used as well, from any goroutine.
type PubAckFuture struct {
	done chan struct{}
	ok   chan PublishResult
	err  chan error
	r    PublishResult // set before done is closed
}

func newPubAckFuture() *PubAckFuture {
	return &PubAckFuture{done: make(chan struct{}), ok: make(chan PublishResult, 1), err: make(chan error, 1)}
}

// resolve is the future's Publish callback.
func (f *PubAckFuture) resolve(r PublishResult) {
	f.r = r
	if r.Err != nil {
		f.err <- r.Err
	} else {
		f.ok <- r
	}
	close(f.done)
}

// Ok delivers the result once if the message was stored (or was a
// duplicate of one stored before).
func (f *PubAckFuture) Ok() <-chan PublishResult { return f.ok }

// Err delivers the error once if the message was not stored.
func (f *PubAckFuture) Err() <-chan error { return f.err }

// Done is closed when the result is known.
func (f *PubAckFuture) Done() <-chan struct{} { return f.done }

// Result returns the result; call it after Done is closed.
func (f *PubAckFuture) Result() PublishResult {
	<-f.done
	return f.r
}

// Wait waits for the result, or until ctx ends; it returns the result and
// its Err, or ctx's cause (the message then stays in flight: its result
// still arrives on the future).
func (f *PubAckFuture) Wait(ctx context.Context) (PublishResult, error) {
	select {
	case <-f.done:
		return f.r, f.r.Err
	case <-ctx.Done():
		return PublishResult{}, context.Cause(ctx)
	}
}

// PublishAsync is Publish returning a future instead of taking a
// callback: it blocks only while the window is full, and its error says
// the message was not accepted (then no future). Wait on the future, or
// select on its Ok and Err.
func (p *Publisher) PublishAsync(ctx context.Context, payload []byte) (*PubAckFuture, error) {
	return p.PublishMsgAsync(ctx, Message{Payload: payload})
}

// PublishMsgAsync is PublishAsync for a message with headers (see
// PublishMsg).
func (p *Publisher) PublishMsgAsync(ctx context.Context, m Message) (*PubAckFuture, error) {
	f := newPubAckFuture()
	if err := p.PublishMsg(ctx, m, f.resolve); err != nil {
		return nil, err
	}
	return f, nil
}
