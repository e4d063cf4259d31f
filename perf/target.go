package perf

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotSupported is returned by a Target for what it cannot do (for
// example restarting a broker it did not start).
var ErrNotSupported = errors.New("swarmmq/perf: not supported by this target")

// Target is the system under test, as the workloads see it: it opens
// producer and consumer connections to streams (SwarmMQ destinations,
// JetStream streams). Adapters live next to their client library: package
// perf/swarm for SwarmMQ, the natspeer module for NATS JetStream.
// A Target must be safe for concurrent use.
type Target interface {
	// Info describes the system and how it is configured.
	Info() TargetInfo
	// Producer opens a connection that publishes to stream.
	Producer(ctx context.Context, stream string, opts ProducerOptions) (Producer, error)
	// Consumer opens a connection that consumes stream in group.
	Consumer(ctx context.Context, stream, group string, opts ConsumerOptions) (Consumer, error)
	// Restart restarts an embedded broker on its data with the given
	// durability (FsyncAlways or FsyncInterval), closing every connection
	// opened so far. Consume workloads use it to pre-fill quickly; a
	// Target that cannot returns ErrNotSupported.
	Restart(ctx context.Context, fsync string) error
	// Close closes every connection and stops an embedded broker.
	Close(ctx context.Context) error
}

// TargetInfo describes a Target for the result files. It is a plain value.
type TargetInfo struct {
	// System is "swarmmq" or "nats".
	System string `json:"system"`
	// Version is the broker's version as far as the adapter knows it.
	Version string `json:"version"`
	// Embedded reports a broker started in this process.
	Embedded bool `json:"embedded"`
	// Fsync is FsyncAlways, FsyncInterval, or "external" for a broker this
	// process did not start.
	Fsync string `json:"fsync"`
	// Config is the broker's durability-relevant configuration, as text.
	Config string `json:"config"`
	// Notes says how each workload maps onto the system's API.
	Notes map[string]string `json:"notes,omitempty"`
}

// ProducerOptions configures a Producer. It is a plain value.
type ProducerOptions struct {
	// Window is the most messages unacknowledged (PublishAsync).
	Window int
	// Batch is the most messages per publish frame, where the system has
	// such a thing (0: the client's default).
	Batch int
	// Acked is called once for each message PublishAsync accepted, when
	// it is acknowledged (err == nil) or has failed, with the send time
	// its payload carried. It runs on a client goroutine: it must be
	// quick and must not call the Producer.
	Acked func(sent int64, err error)
}

// Producer publishes to one stream over its own connection. Publish and
// PublishAsync are called from one goroutine; neither keeps payload after
// it returns.
type Producer interface {
	// PublishAsync sends payload and returns without waiting for its ack,
	// blocking only while Window messages are unacknowledged.
	PublishAsync(ctx context.Context, payload []byte) error
	// Publish sends payload and waits for its ack.
	Publish(ctx context.Context, payload []byte) error
	// Flush waits until every message PublishAsync accepted is resolved.
	Flush(ctx context.Context) error
	// Close flushes and closes the connection.
	Close(ctx context.Context) error
}

// ConsumerOptions configures a Consumer. It is a plain value.
type ConsumerOptions struct {
	// Batch is the most messages per fetch (or pull request).
	Batch int
	// AckWindow bounds the ack requests not yet confirmed when Confirmed
	// is false.
	AckWindow int
	// Fetches is the fetches (pull requests) a consumer keeps in flight:
	// that many fetch loops, or the broker client's own pipelining.
	Fetches int
	// Confirmed makes the consumer wait for each ack's confirmation (the
	// broker has made the ack durable) before it fetches again.
	Confirmed bool
	// Received is called for each message received, with the send time its
	// payload carried. It may run on several goroutines at once.
	Received func(sent int64)
	// AckConfirmed is called, when Confirmed is set, with the time from
	// sending the acks of a batch to their confirmation, once per batch. It
	// may run on several goroutines at once.
	AckConfirmed func(d time.Duration)
}

// Consumer consumes one stream in one group over its own connection.
type Consumer interface {
	// Run receives and acknowledges messages until ctx ends; it returns
	// nil then, or the error that stopped it.
	Run(ctx context.Context) error
	// Close waits for the acks still outstanding (bounded by ctx) and
	// closes the connection.
	Close(ctx context.Context) error
}

// RunLoops runs n copies of loop (at least one) until each returns; the
// first error cancels the others' context. It returns their errors joined.
// Consumers use it to keep ConsumerOptions.Fetches fetches in flight.
func RunLoops(ctx context.Context, n int, loop func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, max(1, n))
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			if errs[i] = loop(ctx); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
