package netio

import (
	"context"
	"fmt"
	"net"
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
	opts.MaxInbound = 256 << 20 // the client below ignores credits
	benchFrames(b, opts, size, func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) })
}

// benchFrames starts a server with opts, dials it with dial, and measures
// frames of size bytes from that one client into the ring. It is the body
// of BenchmarkInbound and BenchmarkTLS.
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
	if _, err := nc.Write(frame.AppendHello(nil, 1, frame.Hello{})); err != nil {
		b.Fatal(err)
	}
	one := frame.AppendHeader(nil, frame.Header{Version: frame.Version, Type: frame.TypePublish, Corr: 1})
	one = append(one, make([]byte, size-frame.HeaderSize)...)
	frame.PatchLength(one, 0)
	perWrite := max(1, (64<<10)/size)
	var chunk []byte
	for i := 0; i < perWrite; i++ {
		chunk = append(chunk, one...)
	}

	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	var g graph.Group
	g.Go("bench-client", func() error {
		for sent := 0; sent < b.N; sent += perWrite {
			n := min(perWrite, b.N-sent)
			if _, err := nc.Write(chunk[:n*size]); err != nil {
				return err
			}
		}
		return nil
	})
	batch := make([]Inbound, 0, 256)
	for got := 0; got < b.N; {
		batch = ring.PopBatch(batch[:0], 256)
		for _, in := range batch {
			benchSink += len(in.Buf.B)
			in.Release()
		}
		got += len(batch)
		if len(batch) < 256 && got < b.N {
			<-ring.C()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}
