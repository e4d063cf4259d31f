package e2e

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

const hostileMaxFrame = 64 << 10

// TestHostileInput sends each kind of bad input on its own connection and
// checks that the offender gets its error code and/or is closed, that a
// healthy client keeps publishing and consuming in between, and that
// nothing of the bad input is stored.
func TestHostileInput(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) {
		o.MaxFrame = hostileMaxFrame
		// Every connection below but the silent one must be dialled and
		// say HELLO (or send its bad bytes) within this: 1s leaves room
		// for a loaded machine under -race, where 300ms was tight.
		o.HandshakeTimeout = time.Second
		o.MaxConns = 8
	})
	addr := n.AddrString()
	healthy := nodetest.Handshake(t, addr)
	stored := 0
	check := func(name string) {
		t.Helper()
		stored++
		acks := publishRaw(t, healthy, "healthy", msg(1000+stored, fmt.Sprintf("ok-%d", stored)))
		if acks[0].Code != frame.CodeOK || acks[0].Seq != uint64(stored) {
			t.Fatalf("after %s: healthy publish answered %+v, want seq %d", name, acks[0], stored)
		}
	}
	header := func(length uint32, version uint8, typ frame.Type) []byte {
		b := binary.BigEndian.AppendUint32(nil, length)
		b = append(b, version, byte(typ), 0, 0)
		return binary.BigEndian.AppendUint64(b, 1)
	}
	cases := []struct {
		name      string
		handshake bool
		send      func(r *nodetest.Raw) []byte
		want      frame.Code
	}{
		{"garbage before HELLO", false, func(*nodetest.Raw) []byte { return []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n") }, frame.CodeTooLarge},
		{"length prefix of 4 GiB", true, func(*nodetest.Raw) []byte { return []byte{0xff, 0xff, 0xff, 0xff} }, frame.CodeTooLarge},
		{"one byte over the largest frame", true, func(*nodetest.Raw) []byte { return header(hostileMaxFrame-4+1, 1, frame.TypePing) }, frame.CodeTooLarge},
		{"length below the header", true, func(*nodetest.Raw) []byte { return header(3, 1, frame.TypePing) }, frame.CodeMalformed},
		{"unknown version", true, func(*nodetest.Raw) []byte { return header(12, 9, frame.TypePing) }, frame.CodeUnsupportedVersion},
		{"unknown type", true, func(*nodetest.Raw) []byte { return header(12, 1, 99) }, frame.CodeUnknownType},
		{"frame before HELLO", false, func(r *nodetest.Raw) []byte {
			return frame.AppendPublish(nil, 1, []byte("healthy"), []frame.Message{msg(1, "sneaky")})
		}, frame.CodeHandshakeRequired},
		{"batch claims more messages than it holds", true, func(r *nodetest.Raw) []byte {
			b := frame.AppendPublish(nil, 2, []byte("healthy"), []frame.Message{msg(2, "short")})
			binary.BigEndian.PutUint32(b[frame.HeaderSize+2+len("healthy"):], 1000)
			return b
		}, frame.CodeMalformed},
		{"server frame from a client", true, func(r *nodetest.Raw) []byte {
			return frame.AppendPublishAck(nil, 3, []frame.AckEntry{{Seq: 1}})
		}, frame.CodeUnknownType},
	}
	for _, c := range cases {
		var r *nodetest.Raw
		if c.handshake {
			r = nodetest.Handshake(t, addr)
		} else {
			r = nodetest.Dial(t, addr)
		}
		r.Write(c.send(r))
		if got := r.ExpectError(); got != c.want {
			t.Errorf("%s: error code %s, want %s", c.name, got, c.want)
		}
		r.ExpectClosed()
		check(c.name)
	}

	// Silent connection: closed after the handshake timeout.
	silent := nodetest.Dial(t, addr)
	if got := silent.ExpectError(); got != frame.CodeHandshakeTimeout {
		t.Errorf("silent connection: %s, want HANDSHAKE_TIMEOUT", got)
	}
	silent.ExpectClosed()
	check("silent connection")

	// Truncated frame, then the client goes away.
	trunc := nodetest.Handshake(t, addr)
	full := frame.AppendPublish(nil, 5, []byte("healthy"), []frame.Message{msg(5, "truncated")})
	trunc.Write(full[:len(full)-3])
	trunc.Close()
	check("truncated frame")

	// A message with a bad CRC is refused alone; the connection stays.
	bad := frame.AppendPublish(nil, 0, []byte("healthy"), []frame.Message{msg(6, "good"), msg(7, "flipped")})
	bad[len(bad)-1] ^= 0xff
	corr := healthy.NextCorr()
	binary.BigEndian.PutUint64(bad[8:], corr)
	healthy.Write(bad)
	f := healthy.Read()
	pa, err := frame.DecodePublishAck(f.Body)
	if err != nil || pa.Len() != 2 {
		t.Fatalf("bad-CRC publish answered %s %v", f.Type, err)
	}
	if e := pa.Entry(1); e.Code != frame.CodeChecksum {
		t.Fatalf("flipped message answered %+v, want CHECKSUM", e)
	}
	stored++ // "good" was stored
	check("bad CRC")

	// Only the healthy messages were stored.
	got := fetchRaw(t, healthy, "healthy", "audit", 1000)
	if len(got) != stored {
		t.Fatalf("destination holds %d messages, want %d: %v", len(got), stored, got)
	}
	for _, p := range got {
		if p == "sneaky" || p == "short" || p == "truncated" || p == "flipped" {
			t.Fatalf("bad input was stored: %v", got)
		}
	}
}

// TestConnectionLimit: connections past the limit are refused with
// TOO_MANY_CONNECTIONS; the ones inside it keep working.
func TestConnectionLimit(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.MaxConns = 3 })
	addr := n.AddrString()
	var open []*nodetest.Raw
	for i := 0; i < 3; i++ {
		open = append(open, nodetest.Handshake(t, addr))
	}
	extra := nodetest.Dial(t, addr)
	if got := extra.ExpectError(); got != frame.CodeTooManyConnections {
		t.Fatalf("extra connection: %s", got)
	}
	extra.ExpectClosed()
	if acks := publishRaw(t, open[2], "q", msg(1, "x")); acks[0].Seq != 1 {
		t.Fatalf("connection inside the limit: %+v", acks)
	}
}

// TestManyIdleConnectionsAndNackFlood: a thousand idle connections and a
// client flooding NACKs for seqs it never got leave a healthy client's
// publish and consume working.
func TestManyIdleConnectionsAndNackFlood(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.MaxConns = 1100 })
	addr := n.AddrString()
	healthy := nodetest.Handshake(t, addr)
	for i := 0; i < 1000; i++ {
		nodetest.Handshake(t, addr) // kept open, silent
	}
	flood := nodetest.Handshake(t, addr)
	const nacks, window = 5000, 32 // window: the credits granted
	sent := make(chan error, 1)
	go func() { sent <- nackFlood(flood, nacks, window) }()
	for i := 1; i <= 20; i++ {
		acks := publishRaw(t, healthy, "healthy", msg(i, fmt.Sprintf("h-%d", i)))
		if acks[0].Code != frame.CodeOK || acks[0].Seq != uint64(i) {
			t.Fatalf("healthy publish %d answered %+v", i, acks[0])
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got := fetchRaw(t, healthy, "healthy", "g", 100); len(got) != 20 {
		t.Fatalf("healthy consumer got %d of 20", len(got))
	}
}

// nackFlood sends n NACKs as fast as its credits allow: window of them
// at once, then their replies, and so on.
func nackFlood(r *nodetest.Raw, n, window int) error {
	for i := 0; i < n; i += window {
		var b []byte
		for k := i; k < min(i+window, n); k++ {
			b = frame.AppendNack(b, uint64(k+1), []byte("healthy"), []byte("g"), 0, []uint64{uint64(k), uint64(k + 1000000)})
		}
		if err := r.Send(b); err != nil {
			return err
		}
		for k := i; k < min(i+window, n); k++ {
			f, err := r.TryRead()
			if err != nil {
				return err
			}
			if f.Type != frame.TypeNackOK {
				return fmt.Errorf("nack answered %s", f.Type)
			}
		}
	}
	return nil
}

// TestSlowReader: a client that asks for much and never reads its replies
// is closed with SLOW_CONSUMER once its queued replies pass the bound; a
// healthy client on the same node is served throughout.
func TestSlowReader(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.MaxOutbound = 1 << 20 })
	addr := n.AddrString()
	healthy := nodetest.Handshake(t, addr)
	big := string(make([]byte, 16<<10))
	for i := 1; i <= 64; i++ {
		publishRaw(t, healthy, "bulk", msg(i, big))
	}
	// Every group sees all 64 messages (1 MiB): each FETCH by a new group
	// queues about 1 MiB of reply for a reader that never reads; 32 of them
	// (the credits granted) are far more than the kernel's socket buffers
	// and the 1 MiB bound.
	slow := nodetest.Handshake(t, addr)
	var b []byte
	for g := 0; g < 32; g++ {
		b = frame.AppendFetch(b, uint64(g+1), frame.Fetch{Destination: []byte("bulk"),
			Group: []byte(fmt.Sprintf("g%d", g)), Max: 64})
	}
	if err := slow.Send(b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(nodetest.Timeout)
	for !strings.Contains(metricsText(n), "swarmmq_netio_slow_consumers_total 1") {
		if time.Now().After(deadline) {
			t.Fatal("the slow reader was never cut off")
		}
		healthy.Write(frame.AppendPing(nil, healthy.NextCorr())) // the node keeps answering meanwhile
		if f := healthy.Read(); f.Type != frame.TypePong {
			t.Fatalf("healthy client answered %s", f.Type)
		}
	}
	if acks := publishRaw(t, healthy, "other", msg(1000, "still served")); acks[0].Code != frame.CodeOK {
		t.Fatalf("healthy client answered %+v", acks[0])
	}
	if got := fetchRaw(t, healthy, "other", "h", 10); len(got) != 1 {
		t.Fatalf("healthy consumer got %v", got)
	}
}

func metricsText(n *nodetest.Node) string {
	var sb strings.Builder
	n.Metrics().WritePrometheus(&sb)
	return sb.String()
}
