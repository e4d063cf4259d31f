package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// expectErrorFor reads one frame and checks that it is an ERROR with code
// want answering corr.
func expectErrorFor(t *testing.T, r *nodetest.Raw, corr uint64, want frame.Code) string {
	t.Helper()
	f := r.Read()
	if f.Type != frame.TypeError || f.Corr != corr {
		t.Fatalf("answered %s corr %d, want ERROR corr %d", f.Type, f.Corr, corr)
	}
	code, msg, err := frame.DecodeError(f.Body)
	if err != nil || code != want {
		t.Fatalf("ERROR %s %q (%v), want %s", code, msg, err, want)
	}
	return string(msg)
}

// TestDestinationNameBound checks over TCP that a destination of 252 bytes
// is refused on every request, and that a destination of 251 bytes can be
// dead-lettered to a 255-byte .dlq destination that FETCH and ACK address.
func TestDestinationNameBound(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.Queue.MaxDeliver = 1 })
	r := nodetest.Handshake(t, n.AddrString())
	tooLong := []byte(strings.Repeat("L", frame.MaxDestinationLen+1))
	g := []byte("g")
	for _, req := range []func(corr uint64) []byte{
		func(c uint64) []byte { return frame.AppendPublish(nil, c, tooLong, []frame.Message{msg(1, "x")}) },
		func(c uint64) []byte {
			return frame.AppendFetch(nil, c, frame.Fetch{Destination: tooLong, Group: g, Max: 1})
		},
		func(c uint64) []byte { return frame.AppendAck(nil, c, tooLong, g, []uint64{1}) },
		func(c uint64) []byte { return frame.AppendNack(nil, c, tooLong, g, 0, []uint64{1}) },
	} {
		corr := r.NextCorr()
		r.Write(req(corr))
		expectErrorFor(t, r, corr, frame.CodeBadDestination)
	}

	longest := strings.Repeat("D", frame.MaxDestinationLen)
	if acks := publishRaw(t, r, longest, msg(2, "to-dlq")); acks[0].Code != frame.CodeOK {
		t.Fatalf("publish to a %d-byte destination: %+v", len(longest), acks)
	}
	if got := fetchRaw(t, r, longest, "g", 1); len(got) != 1 {
		t.Fatalf("fetched %v", got)
	}
	// max_deliver 1: the NACK dead-letters it.
	corr := r.NextCorr()
	r.Write(frame.AppendNack(nil, corr, []byte(longest), g, 0, []uint64{1}))
	if f := r.Read(); f.Type != frame.TypeNackOK {
		t.Fatalf("nack answered %s", f.Type)
	}
	dlq := longest + frame.DeadLetterSuffix
	corr = r.NextCorr()
	r.Write(frame.AppendFetch(nil, corr, frame.Fetch{Destination: []byte(dlq), Group: g, Max: 1, WaitMS: uint32(nodetest.Timeout.Milliseconds())}))
	f := r.Read()
	ms, err := frame.DecodeMessages(f.Body)
	if f.Type != frame.TypeMessages || err != nil {
		t.Fatalf("fetch of the %d-byte dead-letter destination answered %s %v", len(dlq), f.Type, err)
	}
	d, ok := ms.Next()
	if !ok || string(d.Message.Payload) != "to-dlq" {
		t.Fatalf("dead letter %+v %v", d, ok)
	}
	corr = r.NextCorr()
	r.Write(frame.AppendAck(nil, corr, []byte(dlq), g, []uint64{d.Seq}))
	if f := r.Read(); f.Type != frame.TypeAckOK {
		t.Fatalf("ack on the dead-letter destination answered %s", f.Type)
	}
}

// TestHelloMaxFrameBelowNode checks over TCP that a HELLO whose max_frame
// cannot carry the largest message the node accepts is refused with
// BAD_REQUEST naming both sizes, and the connection closed; that the Go
// client's option below the node's limit gets that error from Dial; and
// that the Go client's default works with a node whose max frame is above
// 1 MiB, for a message above 1 MiB.
func TestHelloMaxFrameBelowNode(t *testing.T) {
	const nodeMax = 1<<20 + 4096
	n := nodetest.Start(t, func(o *stages.Options) { o.MaxFrame = nodeMax })
	r := nodetest.Dial(t, n.AddrString())
	r.Write(frame.AppendHello(nil, 1, frame.Hello{MaxFrame: 4096}))
	msg := expectErrorFor(t, r, 1, frame.CodeBadRequest)
	if !strings.Contains(msg, "max_frame 4096") || !strings.Contains(msg, strconv.Itoa(nodeMax)) {
		t.Fatalf("refusal does not name both sizes: %q", msg)
	}
	r.ExpectClosed()

	_, err := client.Dial(ctxT(t), client.Options{Addr: n.AddrString(), MaxFrame: 1 << 20})
	if frame.CodeOf(err) != frame.CodeBadRequest || !strings.Contains(err.Error(), "max_frame 1048576 in HELLO is below this node's max frame 1052672") {
		t.Fatalf("dial with a max frame below the node's: %v", err)
	}

	c := dial(t, n) // the default: the node's max frame
	if c.MaxFrame() != nodeMax {
		t.Fatalf("negotiated max frame %d, want %d", c.MaxFrame(), nodeMax)
	}
	big := bytes.Repeat([]byte("b"), nodeMax-frame.DeliveryOverhead-frame.MessageHeaderSize)
	if _, err := c.Publish(ctxT(t), "big", big); err != nil {
		t.Fatal(err)
	}
	ds, err := c.Fetch(ctxT(t), "big", "g", 10, 0)
	if err != nil || len(ds) != 1 || !bytes.Equal(ds[0].Payload, big) {
		t.Fatalf("fetch of the largest message: %d deliveries, %v", len(ds), err)
	}
}

// TestMessagesNeverAboveMaxFrame checks that fanout never sends a MESSAGES
// frame above the connection's max frame, even for a message stored while
// the node had a larger max frame: the consumer gets the others, the large
// one is counted and, after max_deliver attempts, dead-lettered.
func TestMessagesNeverAboveMaxFrame(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) {
		o.MaxFrame = 64 << 10
		o.Queue.MaxDeliver = 1
		o.Queue.AckTimeout = 100 * time.Millisecond
	})
	c := dial(t, n)
	if _, err := c.Publish(ctxT(t), "q", bytes.Repeat([]byte("x"), 40<<10), []byte("small")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	n.Opts.MaxFrame = 16 << 10
	n.Restart()
	c = dial(t, n)
	if c.MaxFrame() != 16<<10 {
		t.Fatalf("max frame %d", c.MaxFrame())
	}
	var got []string
	deadline := time.Now().Add(nodetest.Timeout)
	for metricValue(t, n, "swarmmq_dead_lettered_total") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the oversized message was never dead-lettered")
		}
		ds, err := c.Fetch(ctxT(t), "q", "g", 10, 50*time.Millisecond)
		if err != nil {
			t.Fatalf("fetch: %v (got %v so far)", err, got)
		}
		for _, d := range ds {
			got = append(got, string(d.Payload))
			if err := c.Ack(ctxT(t), "q", "g", d.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 1 || got[0] != "small" {
		t.Fatalf("delivered %q, want only the small message", got)
	}
	if v := metricValue(t, n, "swarmmq_fanout_too_large_total"); v < 1 {
		t.Fatalf("swarmmq_fanout_too_large_total = %v", v)
	}
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("connection broken: %v", err)
	}
}

// TestWrongKeyringNeverDeadLetters runs consumers that cannot open a
// sealed backlog because of their own configuration (a keyring without
// the messages' key id, and no keyring at all) more often than
// max_deliver: each stops with ErrKeyringMismatch and releases what it
// fetched, so nothing is dead-lettered, and a consumer with the right
// keyring then gets every message at attempt 1.
func TestWrongKeyringNeverDeadLetters(t *testing.T) {
	kr := testKeyring(t) // key id 1
	wrong, err := seal.ParseKeyring([]byte("current: 7\nkeys:\n  - id: 7\n    key: hex:" + strings.Repeat("ab", 32) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	const maxDeliver, backlog = 2, 5
	n := nodetest.Start(t, func(o *stages.Options) {
		o.Keyring = kr
		o.Queue.MaxDeliver = maxDeliver
		o.Queue.AckTimeout = 100 * time.Millisecond
	})
	dialKR := func(k *seal.Keyring) *client.Client {
		c, err := client.Dial(ctxT(t), client.Options{Addr: n.AddrString(), Keyring: k})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	for i := range backlog {
		if _, err := dialKR(kr).Publish(ctxT(t), "vault", []byte(fmt.Sprintf("secret-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []*seal.Keyring{wrong, nil} {
		c := dialKR(k)
		for run := range maxDeliver + 2 {
			err := c.Consume(ctxT(t), "vault", "g", client.ConsumeOptions{Wait: 50 * time.Millisecond},
				func(context.Context, []client.Delivery) error {
					t.Error("handler got messages it cannot open")
					return nil
				})
			if !errors.Is(err, client.ErrKeyringMismatch) || !strings.Contains(err.Error(), "is sealed with key id 1") {
				t.Fatalf("keyring %v, run %d: %v", k, run, err)
			}
		}
	}
	if v := metricValue(t, n, "swarmmq_dead_lettered_total"); v != 0 {
		t.Fatalf("%v messages dead-lettered", v)
	}
	right := dialKR(kr)
	if ds, err := right.Fetch(ctxT(t), "vault.dlq", "ops", 10, 0); err != nil || len(ds) != 0 {
		t.Fatalf("dead-letter destination holds %d (%v)", len(ds), err)
	}
	var got []string
	for len(got) < backlog {
		ds, err := right.Fetch(ctxT(t), "vault", "g", 10, time.Second)
		if err != nil || len(ds) == 0 {
			t.Fatalf("fetched %v, then %v", got, err)
		}
		for _, d := range ds {
			if d.Err != nil || d.Attempt != 1 {
				t.Fatalf("seq %d attempt %d err %v: attempts inflated by the wrong consumers", d.Seq, d.Attempt, d.Err)
			}
			got = append(got, string(d.Payload))
		}
	}
}

// TestIdleTimeoutEdges checks over TCP that half a frame after HELLO does
// not keep a connection open (IDLE_TIMEOUT), that a FETCH held in a long
// poll longer than the idle timeout is not idle, and that connections per
// client address are bounded (TOO_MANY_CONNECTIONS, counted).
func TestIdleTimeoutEdges(t *testing.T) {
	const idle = 300 * time.Millisecond
	n := nodetest.Start(t, func(o *stages.Options) {
		o.IdleTimeout = idle
		o.MaxConnsPerIP = 3
	})
	addr := n.AddrString()
	half := nodetest.Handshake(t, addr)
	start := time.Now()
	half.Write(frame.AppendPing(nil, 1)[:10])
	if got := half.ExpectError(); got != frame.CodeIdleTimeout {
		t.Fatalf("half a frame answered %s", got)
	}
	if el := time.Since(start); el < idle-idle/10 {
		t.Fatalf("closed after %v, before the idle timeout", el)
	}
	half.ExpectClosed()

	poll := nodetest.Handshake(t, addr)
	if got := fetchRaw(t, poll, "lp", "g", 1); len(got) != 0 { // creates the group
		t.Fatalf("fetched %v", got)
	}
	wait := 4 * idle
	corr := poll.NextCorr()
	start = time.Now()
	poll.Write(frame.AppendFetch(nil, corr, frame.Fetch{Destination: []byte("lp"), Group: []byte("g"), Max: 1, WaitMS: uint32(wait.Milliseconds())}))
	if f := poll.Read(); f.Type != frame.TypeMessages || f.Corr != corr {
		t.Fatalf("long poll answered %s corr %d after %v", f.Type, f.Corr, time.Since(start))
	}
	if el := time.Since(start); el < wait-wait/10 {
		t.Fatalf("long poll answered after %v, before its wait", el)
	}
	corr = poll.NextCorr()
	poll.Write(frame.AppendPing(nil, corr))
	if f := poll.Read(); f.Type != frame.TypePong {
		t.Fatalf("after the long poll: %s", f.Type)
	}

	// The half-frame connection must be gone before counting.
	deadline := time.Now().Add(nodetest.Timeout)
	for metricValue(t, n, "swarmmq_netio_connections") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection was never closed")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising on time
	}
	nodetest.Handshake(t, addr) // with poll: 2 of 3
	nodetest.Handshake(t, addr)
	over := nodetest.Dial(t, addr)
	if got := over.ExpectError(); got != frame.CodeTooManyConnections {
		t.Fatalf("fourth connection from one address answered %s", got)
	}
	if v := metricValue(t, n, "swarmmq_netio_refused_per_ip_total"); v != 1 {
		t.Fatalf("swarmmq_netio_refused_per_ip_total = %v", v)
	}
}
