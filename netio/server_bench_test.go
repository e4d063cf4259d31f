package netio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
)

var benchSink int

// BenchmarkInbound measures frames/s from one loopback client, through
// gnet and OnTraffic, into the ring, popped in batches by one consumer.
// Client, server and consumer share the machine's cores.
func BenchmarkInbound(b *testing.B) {
	for _, size := range []int{132, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			benchInbound(b, size)
		})
	}
}

func benchInbound(b *testing.B, size int) {
	opts := testOptions()
	benchFrames(b, opts, size, func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) })
}

// benchFrames starts a server with opts, dials it with dial, and measures
// frames of size bytes from that one client into the ring. It is the body
// of BenchmarkInbound and BenchmarkTLS. The client keeps within the
// credits HELLO_OK granted (a client beyond them is closed with
// FLOW_CONTROL): the consumer answers each batch it pops with one write of
// as many small PUBLISH_ACKs, and the client's reader hands the credits
// back to its writer.
func benchFrames(b *testing.B, opts Options, size int, dial func(addr string) (net.Conn, error)) {
	ring := graph.NewRing[Inbound](4096)
	srv, err := New(opts, ring)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = srv.Stop(ctx)
	}()
	nc, err := dial(srv.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = nc.Close() }()
	if _, err := nc.Write(frame.AppendHello(nil, 1, frame.Hello{Credits: 1 << 16})); err != nil {
		b.Fatal(err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	f, err := readBenchFrame(br, nil)
	if err != nil {
		b.Fatal(err)
	}
	ok, err := frame.DecodeHelloOK(f[frame.HeaderSize:])
	if err != nil || ok.Credits == 0 {
		b.Fatalf("HELLO_OK %+v: %v", ok, err)
	}
	credits := int64(ok.Credits)

	one := frame.AppendHeader(nil, frame.Header{Version: frame.Version, Type: frame.TypePublish, Corr: 1})
	one = append(one, make([]byte, size-frame.HeaderSize)...)
	frame.PatchLength(one, 0)
	perWrite := int(min(credits, int64(max(1, (64<<10)/size))))
	var chunk []byte
	for i := 0; i < perWrite; i++ {
		chunk = append(chunk, one...)
	}
	ack := frame.AppendPublishAck(nil, 1, nil)
	acks := bytes.Repeat(ack, 256)

	var answered atomic.Int64 // replies the client has read
	more := make(chan struct{}, 1)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	var g graph.Group
	g.Go("bench-reader", func() error {
		buf := make([]byte, 0, 256)
		for answered.Load() < int64(b.N) {
			f, err := readBenchFrame(br, buf)
			if err != nil {
				return err
			}
			if t := frame.Type(f[5]); t != frame.TypePublishAck {
				return fmt.Errorf("reply of type %v, not PUBLISH_ACK", t)
			}
			answered.Add(1)
			select {
			case more <- struct{}{}:
			default:
			}
		}
		return nil
	})
	g.Go("bench-writer", func() error {
		for sent := 0; sent < b.N; {
			n := min(perWrite, b.N-sent)
			for int64(sent+n)-answered.Load() > credits {
				<-more
			}
			if _, err := nc.Write(chunk[:n*size]); err != nil {
				return err
			}
			sent += n
		}
		return nil
	})
	batch := make([]Inbound, 0, 256)
	for got := 0; got < b.N; {
		batch = ring.PopBatch(batch[:0], 256)
		for _, in := range batch {
			benchSink += len(in.Buf.B)
		}
		if len(batch) > 0 {
			if err := batch[0].Conn.Send(acks[:len(batch)*len(ack)]); err != nil {
				b.Fatal(err)
			}
		}
		for _, in := range batch {
			in.Release()
		}
		got += len(batch)
		if len(batch) < 256 && got < b.N {
			<-ring.C()
		}
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}

// readBenchFrame reads one whole frame from r into buf (grown as needed).
func readBenchFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	f := buf[:0]
	if cap(f) < 4 {
		f = make([]byte, 0, 256)
	}
	f = f[:4]
	if _, err := io.ReadFull(r, f); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(f))
	if n < frame.HeaderSize-4 || n > 1<<20 {
		return nil, fmt.Errorf("frame length %d", n)
	}
	if cap(f) < 4+n {
		f = append(make([]byte, 0, 4+n), f...)
	}
	f = f[:4+n]
	_, err := io.ReadFull(r, f[4:])
	return f, err
}
