package graph

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

var benchSink int64

// BenchmarkRing measures items/s through one ring with N producers (each
// calling Push) and one consumer popping batches of up to 128, against a
// buffered channel of the same capacity as a baseline. Producers are exactly
// N goroutines rather than RunParallel's multiple of GOMAXPROCS, so the
// producers=1 case really has one producer.
func BenchmarkRing(b *testing.B) {
	const capacity, batch = 1024, 128
	for _, impl := range []string{"ring", "chan"} {
		for _, producers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("impl=%s/producers=%d", impl, producers), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(8)
				var run func(n, producers int) int64
				if impl == "ring" {
					run = func(n, p int) int64 { return benchRing(n, p, capacity, batch) }
				} else {
					run = func(n, p int) int64 { return benchChan(n, p, capacity) }
				}
				start := time.Now()
				b.ResetTimer()
				benchSink += run(b.N, producers)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "items/s")
			})
		}
	}
}

func benchRing(n, producers, capacity, batch int) int64 {
	r := NewRing[int64](capacity)
	var g Group
	for p := 0; p < producers; p++ {
		share := n / producers
		if p == 0 {
			share += n % producers
		}
		g.Go("bench-producer", func() error {
			for i := 0; i < share; i++ {
				if err := r.Push(context.Background(), int64(i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var sum int64
	buf := make([]int64, 0, batch)
	for got := 0; got < n; {
		buf = r.PopBatch(buf[:0], batch)
		for _, v := range buf {
			sum += v
		}
		got += len(buf)
		if len(buf) < batch && got < n {
			<-r.C()
		}
	}
	_ = g.Wait()
	return sum
}

func benchChan(n, producers, capacity int) int64 {
	c := make(chan int64, capacity)
	var g Group
	for p := 0; p < producers; p++ {
		share := n / producers
		if p == 0 {
			share += n % producers
		}
		g.Go("bench-producer", func() error {
			for i := 0; i < share; i++ {
				c <- int64(i)
			}
			return nil
		})
	}
	var sum int64
	for got := 0; got < n; got++ {
		sum += <-c
	}
	_ = g.Wait()
	return sum
}

// BenchmarkRingTryPushParallel measures contended TryPush from
// RunParallel goroutines (GOMAXPROCS × parallelism of them) while one
// consumer drains in batches.
func BenchmarkRingTryPushParallel(b *testing.B) {
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(8)
			r := NewRing[int64](1024)
			quit := make(chan struct{})
			var g Group
			g.Go("bench-consumer", func() error {
				buf := make([]int64, 0, 128)
				for {
					buf = r.PopBatch(buf[:0], 128)
					if len(buf) == 128 {
						continue
					}
					select {
					case <-r.C():
					case <-quit:
						return nil
					}
				}
			})
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					for !r.TryPush(1) {
						// Full: let the consumer run. (netio would park the
						// connection and wait for SpaceC instead.)
						runtime.Gosched()
					}
				}
			})
			b.StopTimer()
			close(quit)
			_ = g.Wait()
		})
	}
}
