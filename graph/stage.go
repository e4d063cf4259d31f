package graph

import "context"

// Stage is the lifecycle every runtime piece of a node implements.
//
// Start starts the stage's goroutines (through a Group) and returns once the
// stage is ready for input; it is called once. Stop signals the stage to
// finish, drains what it already accepted, and waits for every goroutine it
// started; it is idempotent and returns ctx.Err() if ctx ends first (a later
// call may wait again).
type Stage interface {
	Start() error
	Stop(ctx context.Context) error
}
