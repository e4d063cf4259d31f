package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/client"
)

// Consume hands each batch to the handler, whose deliveries settle
// themselves: a message that can never be processed is terminated (moved
// to "orders.dlq" with the reason) and the rest of the batch is acked when
// the handler returns nil.
func ExampleClient_Consume() {
	node := fakeNode()
	defer node.Close()
	c, err := client.Dial(context.Background(), client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Publish(context.Background(), "orders", []byte("order 1"), []byte("garbage"), []byte("order 3")); err != nil {
		fmt.Println(err)
		return
	}

	ctx, stop := context.WithCancel(context.Background())
	err = c.Consume(ctx, "orders", "billing", client.ConsumeOptions{},
		func(ctx context.Context, ds []client.Delivery) error {
			for _, d := range ds {
				if string(d.Payload) == "garbage" {
					if err := d.Term(ctx, "not an order"); err != nil {
						return err
					}
					continue
				}
				fmt.Printf("billed seq %d: %s\n", d.Seq, d.Payload)
			}
			stop()     // one batch is enough for the example
			return nil // acks every delivery the handler did not settle
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	reason, _ := node.TermReason("orders.dlq", 1)
	fmt.Println("dead-lettered:", reason)
	// Output:
	// billed seq 1: order 1
	// billed seq 3: order 3
	// dead-lettered: not an order
}

// errBusy is a temporary failure of the example's handler.
var errBusy = errors.New("inventory busy")

// A delivery the handler cannot process now is given back with Nak, to be
// delivered again after a delay; the others of its batch are still acked.
func ExampleDelivery_Nak() {
	node := fakeNode()
	defer node.Close()
	c, err := client.Dial(context.Background(), client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Publish(context.Background(), "stock", []byte("sku-1"), []byte("sku-2")); err != nil {
		fmt.Println(err)
		return
	}

	reserve := func(sku string, attempt uint32) error {
		if sku == "sku-2" && attempt == 1 {
			return errBusy
		}
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	done := 0
	err = c.Consume(ctx, "stock", "reservations", client.ConsumeOptions{},
		func(ctx context.Context, ds []client.Delivery) error {
			for _, d := range ds {
				if err := reserve(string(d.Payload), d.Attempt); err != nil {
					fmt.Printf("%s attempt %d: %v, retrying\n", d.Payload, d.Attempt, err)
					if err := d.Nak(ctx, 10*time.Millisecond); err != nil {
						return err
					}
					continue
				}
				fmt.Printf("%s attempt %d: reserved\n", d.Payload, d.Attempt)
				done++
			}
			if done == 2 {
				stop()
			}
			return nil
		})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// sku-1 attempt 1: reserved
	// sku-2 attempt 1: inventory busy, retrying
	// sku-2 attempt 2: reserved
}

// PublishAsync returns a future per message; Wait (or a select on Ok and
// Err) gives its result.
func ExamplePublisher_PublishAsync() {
	node := fakeNode()
	defer node.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	p, err := c.NewPublisher("events", client.PublisherOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var futures []*client.PubAckFuture
	for i := range 3 {
		f, err := p.PublishAsync(ctx, fmt.Appendf(nil, "event %d", i))
		if err != nil {
			fmt.Println(err)
			return
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		r, err := f.Wait(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("stored as seq", r.Seq)
	}
	if err := p.Close(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// stored as seq 1
	// stored as seq 2
	// stored as seq 3
}

// Errors carry the server's code; the client package exports the codes an
// application checks.
func ExampleIsCode() {
	node := fakeNode()
	defer node.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	_, err = c.Publish(ctx, "no spaces allowed", []byte("x"))
	code, ok := client.ErrorCode(err)
	fmt.Println(code, ok, client.IsCode(err, client.CodeBadDestination), client.IsRetryable(err))
	// Output:
	// BAD_DESTINATION true true false
}
