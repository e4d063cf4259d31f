package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// callState says where a request is; the Client's mutex guards it.
type callState uint8

const (
	stateQueued    callState = iota // in the write queue, not on the wire
	stateWritten                    // handed to the current connection's writer
	stateCancelled                  // its caller left before it was written
	stateParked                     // waiting for the router to find its partition's leader
)

// anyPartition is the partition of a request any node answers (PING).
const anyPartition = -1

// call is one request and what to do with its reply. buf is the whole
// request frame, correlation id included; it is never modified after
// submission, so a request sent again after a reconnect is the same bytes.
// The fields below fn are guarded by the Client's mutex.
//
// fn runs exactly once after the call leaves the pending set: with the
// reply frame (a view valid only during fn, on the reader goroutine) and
// err == nil, or with the error that ended the request (a server ERROR, a
// lost connection, Close). A call is not safe for concurrent use.
type call struct {
	corr    uint64
	buf     []byte
	resend  bool // safe to send again on a new connection
	noReply bool // fire and forget (PONG, keep-alive PING): never pending
	free    bool // takes no credit (PING)
	fn      func(f frame.Frame, err error)

	part int32 // the partition its destination maps to; anyPartition for PING
	msgs int32 // the messages of a PUBLISH frame, for Stats; 0 for other requests

	state     callState
	abandoned bool   // its caller left after it was written: never resent
	written   bool   // it was written once: writing it again is a retry (Stats.Retried)
	deadline  int64  // unix ns after which sweep fails it; 0: never (see sweep)
	l         *link  // the link it is queued or written on, holding its credit; nil while parked
	gen       uint64 // parked: the table it failed with; it is sent again once a newer one arrives
}

// setCorr writes corr into the header of the frame in buf.
func setCorr(buf []byte, corr uint64) {
	binary.BigEndian.PutUint64(buf[8:frame.HeaderSize], corr)
}

// syncCall is a call a goroutine waits for. handle, when set, reads the
// reply on the reader goroutine (where the frame is valid) and returns the
// request's error.
type syncCall struct {
	call
	want   frame.Type
	handle func(f frame.Frame) error
	done   chan struct{}
	err    error // set by complete, before done is closed

	// Owned by the waiting goroutine (see roundTrip).
	sent    bool
	outcome error
}

func newSyncCall(buf []byte, want frame.Type, resend bool, handle func(frame.Frame) error) *syncCall {
	s := &syncCall{want: want, handle: handle, done: make(chan struct{})}
	s.buf, s.resend = buf, resend
	s.fn = s.complete
	return s
}

func (s *syncCall) complete(f frame.Frame, err error) {
	switch {
	case err != nil:
	case f.Type != s.want:
		err = fmt.Errorf("%w: %s answered by %s", ErrProtocol, s.want, f.Type)
	case s.handle != nil:
		err = s.handle(f)
	}
	s.err = err
	close(s.done)
}

// roundTrip sends each call and waits for all of their replies, or until
// ctx ends or the request timeout runs out. Each call's outcome is left in
// its outcome field; roundTrip returns the first non-nil one. Calls still
// outstanding when it stops waiting are abandoned: their replies are
// dropped and they are not sent again after a reconnect.
func (c *Client) roundTrip(ctx context.Context, timeout time.Duration, calls ...*syncCall) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
	defer cancel()
	var err error // why submitting stopped
	for _, s := range calls {
		if err == nil {
			err = c.submit(ctx, &s.call)
			s.sent = err == nil
		}
		if !s.sent {
			s.outcome = err
		}
	}
	var first error
	for _, s := range calls {
		if s.sent {
			s.outcome = c.wait(ctx, s)
		}
		if first == nil {
			first = s.outcome
		}
	}
	return first
}

// wait waits for one call; when ctx ends first it abandons the call.
func (c *Client) wait(ctx context.Context, s *syncCall) error {
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		if !c.abandon(&s.call) {
			<-s.done // the reply is being delivered
			return s.err
		}
		return context.Cause(ctx)
	}
}
