package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/seal/keyfile"
)

// With a keyring, payloads are sealed on publish and opened on fetch; a
// delivery that does not open comes with Err instead of a payload.
func ExampleOptions_keyring() {
	dir, err := os.MkdirTemp("", "swarmmq-example")
	if err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "keyring.yaml")
	if err := keyfile.Generate(path); err != nil { // what node --gen-keyring does
		panic(err)
	}
	kr, warnings, err := keyfile.Read(path)
	if err != nil || len(warnings) > 0 {
		panic(fmt.Sprint(err, warnings))
	}

	node, err := clienttest.Start(clienttest.Options{Reject: clienttest.VerifySealed(kr)})
	if err != nil {
		panic(err)
	}
	defer node.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addr: node.Addr(), Keyring: kr})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	if _, err := c.Publish(ctx, "orders", []byte("order 1"), []byte("order 2")); err != nil {
		panic(err)
	}
	stored := node.Messages("orders")
	fmt.Println("key id:", stored[0].KeyID, "stored bytes:", len(stored[0].Payload))

	// Someone alters the second message where it is stored.
	node.Update("orders", 2, func(m *frame.Message) { m.Payload[20] ^= 1 })

	ds, err := c.Fetch(ctx, "orders", "billing", 10, time.Second)
	if err != nil {
		panic(err)
	}
	for _, d := range ds {
		if d.Err != nil {
			fmt.Printf("seq %d withheld: %v (auth: %v)\n", d.Seq, d.Err, errors.Is(d.Err, seal.ErrAuth))
			continue
		}
		fmt.Printf("seq %d: %s\n", d.Seq, d.Payload)
	}
	// Output:
	// key id: 1 stored bytes: 35
	// seq 1: order 1
	// seq 2 withheld: swarmmq: cannot open message seq 2 of orders (key id 1): message authentication failed (auth: true)
}
