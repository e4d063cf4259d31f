package client_test

import (
	"context"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/client/clienttest"
)

// Headers travel with a message and come back with its delivery: keys keep
// their case, a key may hold several values, and headers that break the
// rules fail that message alone (BAD_HEADERS) before it is sent.
func ExampleHeaders() {
	node, err := clienttest.Start(clienttest.Options{})
	if err != nil {
		panic(err)
	}
	defer node.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	h := client.Headers{}
	h.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.Add("content-type", "application/json")
	res, err := c.PublishMsgs(ctx, "orders",
		client.Message{Payload: []byte(`{"order":1}`), Headers: h},
		client.Message{Payload: []byte("bad"), Headers: client.Headers{"not a token": {"x"}}})
	fmt.Println("second message refused:", client.IsCode(res[1].Err, client.CodeBadHeaders), err != nil)

	ds, err := c.Fetch(ctx, "orders", "billing", 10, time.Second)
	if err != nil {
		panic(err)
	}
	for _, d := range ds {
		fmt.Println(string(d.Payload), d.Headers.Get("content-type"), d.Headers.Get("traceparent")[:16])
	}
	// Output:
	// second message refused: true true
	// {"order":1} application/json 00-0af7651916cd4
}
