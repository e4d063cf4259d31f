package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// A service consumes until SIGTERM, then drains: the batch in hand is
// handled and acked, what the handlers published is stored, and the
// Client closes. Here the signal is simulated by cancelling the context.
func ExampleClient_Drain() {
	node := fakeNode()
	defer node.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Publish(ctx, "orders", []byte("order 1"), []byte("order 2")); err != nil {
		fmt.Println(err)
		return
	}
	out, err := c.NewPublisher("invoices", client.PublisherOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	handled := make(chan struct{})
	consumed := make(chan error, 1)
	go func() {
		consumed <- c.Consume(context.Background(), "orders", "billing", client.ConsumeOptions{},
			func(ctx context.Context, ds []client.Delivery) error {
				for _, d := range ds {
					// Published without a callback: Drain's flush reports a failure.
					if err := out.Publish(ctx, append([]byte("invoice for "), d.Payload...), nil); err != nil {
						return err
					}
				}
				close(handled)
				return nil // acks the batch
			})
	}()
	<-handled
	stop() // in a service: SIGTERM arrived

	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Drain(dctx); err != nil {
		fmt.Println("drain:", err)
	}
	fmt.Println("consume:", <-consumed)
	for _, m := range node.Messages("invoices") {
		fmt.Println(string(m.Payload))
	}
	// Output:
	// consume: <nil>
	// invoice for order 1
	// invoice for order 2
}

// Messages published without a callback that fail are reported by Flush
// (and Close, Client.Flush, Drain) as a *PublishError; the error's code
// says why.
func ExamplePublishError() {
	node, err := clienttest.Start(clienttest.Options{Reject: func(string, frame.Message) frame.Code {
		return frame.CodeDestinationFull // a node whose destination is at its limits
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addr: node.Addr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	p, err := c.NewPublisher("orders", client.PublisherOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		if err := p.Publish(ctx, []byte("order"), nil); err != nil {
			fmt.Println(err)
			return
		}
	}
	err = p.Flush(ctx)
	var pe *client.PublishError
	if errors.As(err, &pe) {
		fmt.Println(pe.Failed, "failed;", client.IsCode(pe.First, client.CodeDestinationFull), client.IsRetryable(pe.First))
	}
	fmt.Println(errors.Is(err, client.ErrPublishFailed))
	// Output:
	// 3 failed; true false
	// true
}

// metrics is a hook: it counts what the Client reports, as an adapter
// for Prometheus or OpenTelemetry would (setting a counter, recording a
// latency histogram).
type metrics struct {
	acked, failed atomic.Int64
	disconnects   atomic.Int64
}

func (m *metrics) OnPublishAck(dest string, r client.PublishResult, latency time.Duration) {
	if r.Err != nil {
		m.failed.Add(1)
		return
	}
	m.acked.Add(1)
}

func (m *metrics) OnDisconnect(addr string, err error) { m.disconnects.Add(1) }

// Hooks and Stats: an adapter implements the Hook interfaces it needs;
// Stats gives the Client's counters at any time.
func ExampleClient_Stats() {
	node := fakeNode()
	defer node.Close()
	ctx := context.Background()
	m := &metrics{}
	c, err := client.Dial(ctx, client.Options{Addr: node.Addr(), Hooks: []client.Hook{m}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Publish(ctx, "orders", []byte("a"), []byte("b")); err != nil {
		fmt.Println(err)
		return
	}
	ds, err := c.Fetch(ctx, "orders", "billing", 10, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := client.AckAll(ctx, ds); err != nil {
		fmt.Println(err)
		return
	}
	s := c.Stats()
	fmt.Printf("sent %d acked %d in flight %d delivered %d settled %d\n", s.Sent, s.Acked, s.InFlight, s.Delivered, s.Settled)
	fmt.Println("hook saw", m.acked.Load(), "acked")
	// Output:
	// sent 2 acked 2 in flight 0 delivered 2 settled 2
	// hook saw 2 acked
}

// Connection events go to one handler, off the Client's reader: log
// them, mark the service unready while disconnected.
func ExampleOptions_onConnState() {
	node := fakeNode()
	defer node.Close()
	events := make(chan client.ConnEvent, 16)
	c, err := client.Dial(context.Background(), client.Options{
		Addr:        node.Addr(),
		OnConnState: func(ev client.ConnEvent) { events <- ev },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println((<-events).State)
	c.Close()
	fmt.Println((<-events).State)
	// Output:
	// connected
	// closed
}

// TLS: the node's CA verifies the node; with mutual TLS the Client also
// presents a certificate of its own. (Not run: it needs the files.)
func ExampleOptions_tls() {
	pem, err := os.ReadFile("ca.crt") // the CA that signed the nodes' certificates
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		log.Fatal("ca.crt holds no certificate")
	}
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13} // the node speaks TLS 1.3 only

	// Mutual TLS (a node with tls.client_auth): the client's certificate.
	cert, err := tls.LoadX509KeyPair("client.crt", "client.key")
	if err != nil {
		log.Fatal(err)
	}
	cfg.Certificates = []tls.Certificate{cert}

	// ServerName is taken from each address dialled when left empty.
	c, err := client.Dial(context.Background(), client.Options{Addr: "node-1:9001,node-2:9001", TLS: cfg})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}
