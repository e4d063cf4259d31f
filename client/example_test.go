package client_test

import (
	"context"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/client/clienttest"
)

// fakeNode starts an in-memory node for the examples; a real program dials
// a real node, such as "localhost:9001".
func fakeNode() *clienttest.Server {
	s, err := clienttest.Start(clienttest.Options{})
	if err != nil {
		panic(err)
	}
	return s
}

func ExampleClient_Publish() {
	node := fakeNode()
	defer node.Close()
	ctx := context.Background()

	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	res, err := c.Publish(ctx, "test-queue", []byte("Hello SwarmMQ"), []byte("Hello again"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res {
		fmt.Printf("seq %d duplicate %v\n", r.Seq, r.Duplicate)
	}
	// Output:
	// seq 1 duplicate false
	// seq 2 duplicate false
}

func ExamplePublisher() {
	node := fakeNode()
	defer node.Close()
	ctx := context.Background()

	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	p, err := c.NewPublisher("test-queue", client.PublisherOptions{Window: 1000})
	if err != nil {
		fmt.Println(err)
		return
	}
	acked := 0 // callbacks run one at a time, in publish order
	for i := range 10000 {
		err := p.Publish(ctx, fmt.Appendf(nil, "message %d", i), func(r client.PublishResult) {
			if r.Err == nil {
				acked++
			}
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := p.Close(ctx); err != nil { // flushes: every callback has run
		fmt.Println(err)
		return
	}
	fmt.Println("acked:", acked)
	// Output:
	// acked: 10000
}

func ExampleClient_Fetch() {
	node := fakeNode()
	defer node.Close()
	ctx := context.Background()

	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Publish(ctx, "test-queue", []byte("one"), []byte("two")); err != nil {
		fmt.Println(err)
		return
	}

	ds, err := c.Fetch(ctx, "test-queue", "default", 100, 2*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	var seqs []uint64
	for _, d := range ds {
		fmt.Printf("seq %d attempt %d: %s\n", d.Seq, d.Attempt, d.Payload)
		seqs = append(seqs, d.Seq)
	}
	// Ack after processing; once Ack returns nil the group never sees
	// these messages again.
	if err := c.Ack(ctx, "test-queue", "default", seqs...); err != nil {
		fmt.Println(err)
		return
	}
	// Output:
	// seq 1 attempt 1: one
	// seq 2 attempt 1: two
}
