package perf

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// TestRunLoops: n loops run at once; the first error cancels the others,
// whose own errors are joined in; n < 1 still runs one loop.
func TestRunLoops(t *testing.T) {
	var ran atomic.Int32
	errBoom := errors.New("boom")
	err := RunLoops(context.Background(), 3, func(ctx context.Context) error {
		if ran.Add(1) == 1 {
			return errBoom
		}
		<-ctx.Done() // ends only because the failing loop cancelled it
		return nil
	})
	if !errors.Is(err, errBoom) || ran.Load() != 3 {
		t.Fatalf("err %v after %d loops, want boom after 3", err, ran.Load())
	}
	ran.Store(0)
	if err := RunLoops(context.Background(), 0, func(context.Context) error { ran.Add(1); return nil }); err != nil || ran.Load() != 1 {
		t.Fatalf("n=0: err %v, %d loops", err, ran.Load())
	}
}
