package work

import (
	"context"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

// Forward pushes r into ring, waiting while the ring is full. If the ring is
// closed (its consumer has stopped), r is answered SHUTTING_DOWN and
// released, and Forward reports false: a request is never dropped
// unanswered.
func Forward(ring *graph.Ring[*Request], r *Request) bool {
	if err := ring.Push(context.Background(), r); err != nil {
		r.Abort(frame.CodeShuttingDown, fmt.Errorf("the node is stopping: %w", err))
		return false
	}
	return true
}

// Abort answers r with an ERROR frame of code on its connection, unless it
// has none or it is gone, and releases r. It is for requests that cannot
// reach the stage that would answer them.
func (r *Request) Abort(code frame.Code, err error) {
	if r.Conn != nil && !r.Conn.Closed() {
		_ = r.Conn.SendError(r.Corr, code, err.Error())
	}
	r.Release()
}
